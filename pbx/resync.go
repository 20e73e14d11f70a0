package pbx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v5"
)

// resync reconciles what the router believes with what Asterisk has, after a
// (re)connect. Asterisk replays nothing: channels that ended while the socket
// was down produced events nobody received, and callers that arrived were
// refused by the dialplan. So: owned channels and bridges that are gone get a
// final Vanished event; survivors get Resynced (they may have missed events);
// channels and bridges in our app that nobody owns are reported as orphans.
func (c *Client) resync(ctx context.Context, reconnect bool, up time.Time) error {
	started := time.Now()
	owned := c.router.snapshot(up)

	app, err := call(ctx, c, "resync", c.cfg.Application, opOther, func() (*ari.ApplicationData, error) {
		return c.ari.Application().Data(c.key(ari.ApplicationKey, c.cfg.Application))
	})
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	liveChannels := setOf(app.ChannelIDs)
	liveBridges := setOf(app.BridgeIDs)

	var vanished, survived int
	for target, sub := range owned {
		kind, id, _ := strings.Cut(target, ":")
		alive := (kind == "channel" && liveChannels[id]) || (kind == "bridge" && liveBridges[id])
		ev := Event{Time: time.Now(), Target: target}
		if kind == "channel" {
			ev.Channel.ID = id
		} else {
			ev.BridgeID = id
		}
		if alive {
			if reconnect {
				ev.Type = Resynced
				if c.router.deliver(sub, ev) {
					survived++
				}
			}
			continue
		}
		ev.Type = Vanished
		if c.router.finishWith(sub, ev) {
			vanished++
			c.m.resyncVanish.Inc()
			c.log.Warn("pbx: resync: gone while the socket was down", "target", target, "call", ev.Channel.ID)
		}
	}

	var orphans int
	for id := range liveChannels {
		if c.router.known(ChannelTarget(id)) {
			continue
		}
		ch, err := c.ChannelData(ctx, id)
		if err != nil {
			// It ended between the two requests; nothing to report.
			continue
		}
		kind, _ := kindFromName(ch.Name)
		orphans++
		c.m.resyncOrphan.Inc()
		c.log.Warn("pbx: resync: channel in our app that nobody owns", "call", id, "name", ch.Name, "state", ch.State)
		c.router.notice(Notice{Type: NoticeOrphanChannel, Channel: ch, Kind: kind})
	}
	for id := range liveBridges {
		if c.router.known(BridgeTarget(id)) {
			continue
		}
		orphans++
		c.m.resyncOrphan.Inc()
		c.log.Warn("pbx: resync: bridge in our app that nobody owns", "bridge", id)
		c.router.notice(Notice{Type: NoticeOrphanBridge, BridgeID: id})
	}
	c.log.Info("pbx: resync done", "vanished", vanished, "survived", survived, "orphans", orphans, "took", time.Since(started))
	return nil
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
