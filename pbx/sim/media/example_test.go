package media_test

import (
	"fmt"

	"hotline/audio"
	"hotline/pbx/sim/media"
)

// A caller (440 Hz) and an agent (880 Hz) in a mixing bridge: each hears
// the other and not itself.
func Example() {
	e := media.NewEngine(media.WithManualClock())
	defer e.Close()

	caller, agent := e.NewLeg("caller"), e.NewLeg("agent")
	caller.SetSource(media.Tone(440, 0.3))
	agent.SetSource(media.Tone(880, 0.3))
	var heard []int16
	caller.OnHear(func(f []int16) { heard = append(heard, f...) })

	call := e.NewBridge("call")
	call.Add(caller)
	call.Add(agent)
	for i := 0; i < 50; i++ { // one second
		e.Tick()
	}
	fmt.Println("caller hears 880:", audio.HasTone(heard, 880))
	fmt.Println("caller hears 440:", audio.HasTone(heard, 440))
	// Output:
	// caller hears 880: true
	// caller hears 440: false
}
