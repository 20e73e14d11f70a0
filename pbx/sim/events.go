package sim

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"
)

// tsLayout is Asterisk's ARI time format: millisecond precision, numeric zone
// without a colon ("2026-11-27T07:27:29.420+0000").
const tsLayout = "2006-01-02T15:04:05.000-0700"

func formatTime(t time.Time) string { return t.UTC().Format(tsLayout) }

// JSON models, with fields in Asterisk's order (see channels.json etc.).

type callerJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       callerJSON        `json:"caller"`
	Connected    callerJSON        `json:"connected"`
	Accountcode  string            `json:"accountcode"`
	Dialplan     dialplanJSON      `json:"dialplan"`
	Creationtime string            `json:"creationtime"`
	Language     string            `json:"language"`
	Channelvars  map[string]string `json:"channelvars,omitempty"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	Creationtime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type playbackJSON struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	Language  string `json:"language"`
	State     string `json:"state"`
}

type liveRecordingJSON struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

// kv is one event field; events keep their fields in the given order.
type kv struct {
	k string
	v any
}

// encodeEvent renders an event without its closing "application" field, so
// one encoding serves every recipient app (see withApp).
func (s *Server) encodeEvent(typ string, at time.Time, fields []kv) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	writeJSON(&b, typ)
	b.WriteString(`,"timestamp":`)
	writeJSON(&b, formatTime(at))
	for _, f := range fields {
		b.WriteByte(',')
		writeJSON(&b, f.k)
		b.WriteByte(':')
		writeJSON(&b, f.v)
	}
	b.WriteString(`,"asterisk_id":`)
	writeJSON(&b, s.cfg.AsteriskID)
	return b.Bytes()
}

func withApp(prefix []byte, appName string) []byte {
	out := make([]byte, 0, len(prefix)+len(appName)+20)
	out = append(out, prefix...)
	out = append(out, `,"application":`...)
	name, _ := json.Marshal(appName)
	out = append(out, name...)
	return append(out, '}')
}

func writeJSON(b *bytes.Buffer, v any) {
	if r, ok := v.(json.RawMessage); ok {
		b.Write(r)
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		// Only our own model types are encoded here; a failure is a bug.
		panic("sim: encode event field: " + err.Error())
	}
	b.Write(enc)
}

// send queues an event to the current socket of each app. Caller holds s.mu.
func (s *Server) send(apps []string, typ string, fields ...kv) {
	if len(apps) == 0 {
		return
	}
	prefix := s.encodeEvent(typ, time.Now(), fields)
	for _, name := range apps {
		a := s.apps[name]
		if a == nil || a.active == nil {
			continue // no socket: Asterisk drops the event, nothing is replayed
		}
		a.active.enqueue(withApp(prefix, name))
	}
}

// unionApps merges app name lists without duplicates, keeping order.
func unionApps(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, n := range l {
			dup := false
			for _, o := range out {
				if o == n {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, n)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
