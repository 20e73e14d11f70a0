package media

import "errors"

var (
	// ErrBadOffer reports an SDP offer the seat cannot answer: unparsable,
	// or without an audio section offering PCMU. Signalling maps it to a
	// client error (HTTP 400).
	ErrBadOffer = errors.New("media: unusable SDP offer")
	// ErrNoSeat reports an agent without an open seat.
	ErrNoSeat = errors.New("media: no seat for agent")
	// ErrSeatDown reports a seat whose peer connection has failed or was
	// closed by the browser; it needs a new offer before it can take a call.
	ErrSeatDown = errors.New("media: seat is down")
	// ErrSeatBusy reports an attach while another call is attached.
	ErrSeatBusy = errors.New("media: seat has another call attached")
	// ErrNoCall reports an operation on a call that is not attached.
	ErrNoCall = errors.New("media: call not attached to seat")
	// ErrShutdown reports use of Seats after Shutdown.
	ErrShutdown = errors.New("media: seats shut down")
)
