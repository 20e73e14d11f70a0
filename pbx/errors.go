package pbx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors callers branch on. An *OpError matches (errors.Is) the one
// that fits the ARI status code, and its cause.
var (
	ErrNotFound      = errors.New("not found")               // 404: channel, bridge, playback, recording gone
	ErrBadRequest    = errors.New("bad request")             // 400: e.g. addChannel with an unknown channel
	ErrUnauthorized  = errors.New("unauthorized")            // 401: ARI credentials refused
	ErrConflict      = errors.New("conflict")                // 409: id taken, recording name taken, in a bridge...
	ErrNotInStasis   = errors.New("channel not in Stasis")   // 409 on a channel operation
	ErrBadState      = errors.New("invalid state")           // 412
	ErrUnprocessable = errors.New("unprocessable request")   // 422: e.g. unknown recording format
	ErrServer        = errors.New("asterisk internal error") // 5xx
	ErrClosed        = errors.New("pbx client closed")
	ErrInvalidID     = errors.New("invalid id") // rejected before any request: unsafe in a URL path
)

// OpError is a failed ARI operation: which operation, on which resource, and
// what Asterisk answered (Status is 0 when no HTTP status was received).
type OpError struct {
	Op     string // "answer", "play", "bridge.addChannel", ...
	ID     string // channel, bridge, playback or recording id
	Status int
	Err    error
	kind   error
}

func (e *OpError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("pbx %s %s: %d %s: %v", e.Op, e.ID, e.Status, http.StatusText(e.Status), e.Err)
	}
	return fmt.Sprintf("pbx %s %s: %v", e.Op, e.ID, e.Err)
}

// Unwrap exposes the sentinel for the status code and the underlying cause.
func (e *OpError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.Err}
	}
	return []error{e.kind, e.Err}
}

// StatusCode returns the ARI HTTP status carried by err, or 0.
func StatusCode(err error) int {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Status
	}
	return libraryStatus(err)
}

// opKind describes how a 409 is to be read for one operation.
type opKind int

const (
	opOther          opKind = iota
	opChannelControl        // a 409 means the channel is not in our Stasis app
)

func newOpError(op, id string, kind opKind, err error) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	e := &OpError{Op: op, ID: id, Err: err}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) || errors.Is(err, ErrInvalidID) || errors.Is(err, ErrConflict) {
		return e
	}
	e.Status = libraryStatus(err)
	e.kind = classify(e.Status, kind)
	return e
}

func classify(status int, kind opKind) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusBadRequest:
		return ErrBadRequest
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusConflict && kind == opChannelControl:
		return errors.Join(ErrNotInStasis, ErrConflict)
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusPreconditionFailed:
		return ErrBadState
	case status == http.StatusUnprocessableEntity:
		return ErrUnprocessable
	case status >= 500:
		return ErrServer
	}
	return nil
}

// libraryStatus digs the HTTP status out of the library's error chain. The
// library wraps with eris (Unwrap) and with its own type that only has Cause,
// so both are followed.
func libraryStatus(err error) int {
	for depth := 0; err != nil && depth < 32; depth++ {
		if c, ok := err.(interface{ Code() int }); ok {
			return c.Code()
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Cause() error }:
			err = u.Cause()
		default:
			return 0
		}
	}
	return 0
}
