package pbx_test

import (
	"errors"
	"testing"

	"hotline/pbx"
)

// TestOriginateLocalPair: OtherChannelID names the ;2 half of a Local
// originate. ;2 reaches the controller as a caller under that id, with our
// caller id; the originating app gets ;1 (and, subscribed, ;2's events);
// hanging up ;1 ends ;2.
func TestOriginateLocalPair(t *testing.T) {
	ctx := deadline(t)
	r := newRig(t, ctx, nil)
	cfg := r.cfg
	cfg.Application = "hotline-test"
	rigApp, err := pbx.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rigApp.Close)

	if _, err := rigApp.Originate(ctx, pbx.OriginateRequest{Endpoint: "Local/12315@hotline", ChannelID: "pair-1", OtherChannelID: "pair/2"}); !errors.Is(err, pbx.ErrInvalidID) {
		t.Errorf("unsafe OtherChannelID: %v, want ErrInvalidID", err)
	}

	two, err := rigApp.SubscribeChannel("pair-2")
	if err != nil {
		t.Fatal(err)
	}
	one, err := rigApp.Originate(ctx, pbx.OriginateRequest{Endpoint: "Local/12315@hotline", ChannelID: "pair-1", OtherChannelID: "pair-2", CallerID: "13800000007"})
	if err != nil {
		t.Fatal(err)
	}
	in := recv(t, ctx, r.c.Incoming(), "the ;2 half as a caller")
	if in.Channel.ID != "pair-2" || in.Channel.CallerNumber != "13800000007" {
		t.Fatalf("controller got %+v, want pair-2 from 13800000007", in.Channel)
	}
	if err := r.c.Answer(ctx, "pair-2"); err != nil {
		t.Fatal(err)
	}
	if up := until(t, ctx, two, pbx.ChannelStateChange, nil); up.Channel.State != "Up" {
		t.Errorf(";2 went %s", up.Channel.State)
	}
	until(t, ctx, one, pbx.StasisStart, nil)
	if err := rigApp.Hangup(ctx, "pair-1", pbx.HangupNormal); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, in.Events, pbx.StasisEnd, nil)
	until(t, ctx, one, pbx.ChannelDestroyed, nil)
	until(t, ctx, two, pbx.ChannelDestroyed, nil)
	select {
	case c := <-rigApp.Incoming():
		t.Errorf("the originating app was offered %+v as a caller", c.Channel)
	default:
	}
}
