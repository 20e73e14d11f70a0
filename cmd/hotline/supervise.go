package main

import (
	"context"
	"log/slog"

	"hotline/agentdesk"
	"hotline/pbx"
	"hotline/supervise"
)

// supervision is listen, whisper and barge: snoops on the agents' seat legs, heard on the
// supervisors' own seats, with the agent told by the desk.
type supervision struct {
	svc *supervise.Service
	log *slog.Logger
}

func newSupervision(agents *agentDesk, client *pbx.Client, log *slog.Logger) (*supervision, error) {
	svc, err := supervise.New(supervise.Config{Calls: agents.line, PBX: client, Seats: agents.seats, Audit: agents.auditLog,
		Cases: agents.store, Notify: agents.desk, Log: log.With("component", "supervise")})
	if err != nil {
		return nil, err
	}
	return &supervision{svc: svc, log: log}, nil
}

// routes mounts the supervisors' API behind sign-in.
func (s *supervision) routes(agents *agentDesk) []agentdesk.Option {
	return []agentdesk.Option{agentdesk.WithRoute("/api/supervise", supervise.Handler(s.svc, agents.auth.RequireRole, s.log))}
}

// shutdown ends the supervisions before the seats close.
func (s *supervision) shutdown(ctx context.Context) {
	if err := s.svc.Shutdown(ctx); err != nil {
		s.log.Error("supervision shutdown", "err", err)
	}
}
