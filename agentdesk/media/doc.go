// Package media holds the agents' WebRTC seats and the RTP relay between a
// seat and Asterisk. It is the only package in hotline that imports pion.
//
// A seat is one agent's persistent peer connection to the controller, audio
// only and G.711 µ-law only. Signalling is the caller's business: it hands
// the browser's complete (non-trickle) offer to [Seats.Open] and sends back
// the answer. When a call is connected, [Seats.AttachCall] binds a UDP
// socket for the call; the call flow names it as the ExternalMedia
// channel's external_host, and the seat relays RTP between that socket and
// the browser until [Seats.DetachCall]. The seat outlives its calls, and a
// call attachment outlives a dropped peer connection: when the agent's
// browser opens the seat again, the relay resumes on the same socket.
//
// Audio is never decoded here: packets are re-stamped (sequence number,
// timestamp, SSRC) and forwarded, and mute and hold replace the payload
// with µ-law silence so both far ends keep a steady 20 ms stream.
package media
