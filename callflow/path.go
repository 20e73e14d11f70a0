package callflow

import (
	"encoding/json"
	"time"

	"hotline/ivr"
)

// pathEntry is one step of a call's IVR path as the call record keeps it.
type pathEntry struct {
	At    time.Time `json:"at"`
	Node  string    `json:"node"`
	Step  string    `json:"step"`
	Input string    `json:"input,omitempty"`
}

// pathJSON renders the IVR path for cases.Store.EndCall: [{at,node,step,input}, ...].
func pathJSON(steps []ivr.PathStep) json.RawMessage {
	out := make([]pathEntry, len(steps))
	for i, s := range steps {
		out[i] = pathEntry{At: s.At, Node: string(s.Node), Step: s.Step.String(), Input: s.Input}
	}
	b, err := json.Marshal(out)
	if err != nil {
		// Strings and times always marshal; keep the record writable regardless.
		return json.RawMessage("[]")
	}
	return b
}
