package sim

import (
	"context"
	"testing"
)

// TestExtensionsToApps: each number of the dialplan goes to its own Stasis app, the other
// app never hears of the call; an unknown number is refused; an app not connected declines.
func TestExtensionsToApps(t *testing.T) {
	srv := startServer(t, Config{App: "hotline-a", Extensions: map[string]string{"12316": "hotline-b", "12317": "hotline-c"}})
	d := newDriver(t, srv)
	d.connect("a", "hotline-a")
	d.connect("b", "hotline-b")
	tests := []struct {
		to, conn, other, exten string
	}{
		{"", "a", "b", "12315"},
		{"12316", "b", "a", "12316"},
	}
	for _, tt := range tests {
		c, err := srv.Call(context.Background(), CallSpec{To: tt.to, Steps: ""})
		if err != nil {
			t.Fatal(err)
		}
		ev := d.waitEvent(tt.conn, "StasisStart", c.ChannelID())
		ch, _ := ev["channel"].(map[string]any)
		dp, _ := ch["dialplan"].(map[string]any)
		if dp["exten"] != tt.exten {
			t.Errorf("call to %q: dialplan %v, want exten %s", tt.to, dp, tt.exten)
		}
		for _, e := range d.entries() {
			if e.Kind == "event" && e.Conn == tt.other && eventChannelID(e.Event) == c.ChannelID() {
				t.Errorf("call to %q: app of conn %s got %s", tt.to, tt.other, e.Type)
			}
		}
	}
	for _, tt := range []struct {
		to     string
		status int
	}{{"12399", 404}, {"12317", 603}} {
		c, err := srv.Call(context.Background(), CallSpec{To: tt.to})
		if err != nil {
			t.Fatal(err)
		}
		<-c.Done()
		if r := c.Result(); !r.Declined || r.SIPStatus != tt.status {
			t.Errorf("call to %s: %+v, want declined %d", tt.to, r, tt.status)
		}
	}
}
