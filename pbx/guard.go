package pbx

import (
	"encoding/json"
	"reflect"
	"sort"

	"github.com/CyCoreSystems/ari/v5"
)

// knownEventTypes is the set of event types the client library can decode.
// It is derived from the library itself (its ari.Events list, each name
// checked against its own decoder), so a library upgrade moves it along.
var knownEventTypes = func() map[string]bool {
	known := map[string]bool{}
	v := reflect.ValueOf(ari.Events)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Kind() != reflect.String {
			continue
		}
		name := v.Field(i).String()
		if name == "" || name == ari.Events.All {
			continue
		}
		probe, _ := json.Marshal(map[string]string{"type": name})
		if e, err := ari.DecodeEvent(probe); err == nil && e != nil {
			known[name] = true
		}
	}
	return known
}()

// KnownEventTypes lists, sorted, the event types the guard lets through.
func KnownEventTypes() []string {
	out := make([]string, 0, len(knownEventTypes))
	for t := range knownEventTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// inspect decides whether one frame from Asterisk may reach the library.
// v5.3.1 sends a nil event to its bus when its decoder fails (and then drops
// its socket), and the bus dereferences it: any frame the decoder rejects
// would crash the process. reason is empty when the frame may pass.
// reachesBus says whether the library's bus will hand the event to a
// subscriber: it only delivers events that carry at least one key.
//
// Every event passes through here, so the usual case costs one decode, the library's own;
// only a frame it rejects is looked at again, to say why.
func inspect(frame []byte) (typ, reason string, reachesBus bool) {
	if e, err := ari.DecodeEvent(frame); err == nil && e != nil && knownEventTypes[e.GetType()] {
		return e.GetType(), "", len(e.Keys()) > 0
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil || head.Type == "" {
		return "", dropMalformed, false
	}
	if !knownEventTypes[head.Type] {
		return head.Type, dropUnknownType, false
	}
	return head.Type, dropUndecodable, false
}
