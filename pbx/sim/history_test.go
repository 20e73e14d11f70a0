package sim

import "testing"

// TestBridgeHistory: each channel entering and leaving a bridge is kept, in order.
func TestBridgeHistory(t *testing.T) {
	srv := startServer(t, Config{})
	d := newDriver(t, srv)
	d.connect("a", "hotline")
	c := d.call("")
	d.waitEvent("a", "StasisStart", c.ChannelID())
	st, _ := d.rest("POST", "/bridges", map[string]string{"bridgeId": "br-1", "type": "mixing"})
	mustStatus(t, st, 200, "create bridge")
	st, _ = d.rest("POST", "/bridges/br-1/addChannel", map[string]string{"channel": c.ChannelID()})
	mustStatus(t, st, 204, "add channel")
	st, _ = d.rest("POST", "/bridges/br-1/removeChannel", map[string]string{"channel": c.ChannelID()})
	mustStatus(t, st, 204, "remove channel")
	h := srv.BridgeHistory()
	if len(h) != 2 || h[0].Bridge != "br-1" || h[0].Channel != c.ChannelID() || !h[0].Entered || h[1].Entered ||
		h[1].Channel != c.ChannelID() || h[1].At.Before(h[0].At) {
		t.Errorf("history %+v, want %s entering then leaving br-1", h, c.ChannelID())
	}
}
