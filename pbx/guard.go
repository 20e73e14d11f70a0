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

// inspect decodes one frame from Asterisk with the library's decoder and decides whether
// it may be delivered. v5.3.1's decoder fails on event types it does not know (its own event
// loop then sends a nil event to its bus, which dereferences it: any such frame would crash
// the process); such frames are counted and dropped. reason is empty when the frame may
// pass, and e is then the decoded event. routable says whether the event carries a key (a
// channel, bridge, playback, ...) that a subscription can be made for.
//
// Every event passes through here, so the usual case costs one decode; only a frame the
// decoder rejects is looked at again, to say why.
func inspect(frame []byte) (e ari.Event, typ, reason string, routable bool) {
	if e, err := ari.DecodeEvent(frame); err == nil && e != nil && knownEventTypes[e.GetType()] {
		return e, e.GetType(), "", len(e.Keys()) > 0
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil || head.Type == "" {
		return nil, "", dropMalformed, false
	}
	if !knownEventTypes[head.Type] {
		return nil, head.Type, dropUnknownType, false
	}
	return nil, head.Type, dropUndecodable, false
}
