package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"hotline/pbx/steps"
)

// CallRequest is the body of POST /sim/calls.
type CallRequest struct {
	From     string `json:"from"`
	Name     string `json:"name,omitempty"`
	To       string `json:"to,omitempty"`
	Language string `json:"language,omitempty"`
	Steps    string `json:"steps"`
}

// CallInfo describes a party in the control API.
type CallInfo struct {
	ChannelID string `json:"channel_id"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Answered  bool   `json:"answered"`
	Declined  bool   `json:"declined"`
	SIPStatus int    `json:"sip_status,omitempty"`
	Ended     bool   `json:"ended"`
	HungUpBy  string `json:"hung_up_by,omitempty"`
	Cause     int    `json:"cause,omitempty"`
	DTMF      string `json:"dtmf_received,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (c *Call) info() CallInfo {
	r := c.Result()
	ci := CallInfo{ChannelID: c.chanID, From: c.from, To: c.to, Answered: r.Answered, Declined: r.Declined,
		SIPStatus: r.SIPStatus, HungUpBy: r.HungUpBy, Cause: r.Cause, DTMF: r.DTMF}
	select {
	case <-c.doneCh:
		ci.Ended = true
	default:
	}
	if r.Err != nil {
		ci.Error = r.Err.Error()
	}
	return ci
}

// EndpointRequest is the body of POST /sim/endpoints.
type EndpointRequest struct {
	Name          string `json:"name"`
	Behavior      string `json:"behavior,omitempty"` // answer | noanswer | busy | unavailable
	AnswerAfterMS int    `json:"answer_after_ms,omitempty"`
	Steps         string `json:"steps,omitempty"`
}

// ParseBehavior reads an endpoint behaviour name.
func ParseBehavior(v string) (Behavior, bool) {
	switch v {
	case "", "answer":
		return Answer, true
	case "noanswer", "no-answer":
		return NoAnswer, true
	case "busy":
		return Busy, true
	case "unavailable":
		return Unavailable, true
	}
	return Answer, false
}

// controlHandler serves the simulator's own API (no ARI auth; loopback only):
// POST/GET /sim/calls, GET /sim/stats, POST /sim/endpoints.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sim/calls", func(w http.ResponseWriter, r *http.Request) {
		var req CallRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		c, err := s.Call(r.Context(), CallSpec{From: req.From, Name: req.Name, To: req.To, Language: req.Language, Steps: req.Steps})
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		// Give the dialplan a moment so the answer says whether Stasis took it.
		select {
		case <-c.Done():
		case <-time.After(10 * time.Millisecond):
		}
		writeJSONResponse(w, http.StatusCreated, c.info())
	})
	mux.HandleFunc("GET /sim/calls", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		calls := append([]*Call(nil), s.calls...)
		s.mu.Unlock()
		out := []CallInfo{}
		for _, c := range calls {
			out = append(out, c.info())
		}
		writeJSONResponse(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResponse(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /sim/endpoints", func(w http.ResponseWriter, r *http.Request) {
		var req EndpointRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		b, ok := ParseBehavior(req.Behavior)
		if !ok || req.Name == "" {
			writeError(w, http.StatusBadRequest, "need name and a behavior of answer, noanswer, busy, unavailable")
			return
		}
		if _, err := steps.Parse(req.Steps); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.RegisterEndpoint(EndpointSpec{Name: req.Name, Behavior: b,
			AnswerAfter: time.Duration(req.AnswerAfterMS) * time.Millisecond, Steps: req.Steps})
		noContent(w)
	})
	return mux
}
