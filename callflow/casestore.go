package callflow

import (
	"context"
	"fmt"

	"hotline/cases"
)

// NewCaseStore adapts a cases.Store to CaseStore.
//
// cases.Registration cannot change a case's channel, and a voicemail's case is created as
// a phone case at StasisStart, before anyone knows the caller will leave a message. Until
// cases grows Registration.Channel (set in the same statement as the rest of the
// registration), SetChannel is this one UPDATE. It is the only write callflow makes
// outside the cases API; remove it when that field exists.
func NewCaseStore(s *cases.Store) CaseStore { return caseStore{s} }

type caseStore struct{ *cases.Store }

func (s caseStore) SetChannel(ctx context.Context, id cases.CaseID, ch cases.Channel) error {
	tag, err := s.Pool().Exec(ctx, `UPDATE cases SET channel = $2, updated_at = now() WHERE id = $1`, id, ch)
	if err != nil {
		return fmt.Errorf("set channel of case %d to %s: %w", id, ch, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set channel of case %d: %w", id, cases.ErrNotFound)
	}
	return nil
}
