// Package pbxtest is the end-to-end tests' phone system: one harness, two
// PBXs. The same test runs against the simulated Asterisk (hotline/pbx/sim)
// or, when HOTLINE_TEST_ARI_URL is set, against a real Asterisk 22.
//
//	p := pbxtest.New(t, pbxtest.Options{SoundsDir: dir})
//	ctl, err := pbx.Connect(ctx, p.Config())     // the controller under test, app "hotline"
//	call, err := p.Call(ctx, pbxtest.CallSpec{From: "13800000001", Steps: "p 1 t2 h", Listen: true})
//	in := <-ctl.Incoming()                      // in.Channel.ID == call.ChannelID()
//	<-call.Answered(); <-call.Done(); call.Heard()
//
// Steps are the simulated caller's syntax (CallSpec.Steps).
//
// # The simulated PBX
//
// New starts a sim.Server on loopback for the test and closes it when the
// test ends; callers are sim.Call parties. Options.Endpoints are its
// scripted phones; p.(interface{ Sim() *sim.Server }) reaches the server
// and call.(interface{ Sim() *sim.Call }) the party.
//
// # A real Asterisk
//
// With HOTLINE_TEST_ARI_URL set, a caller is a Local channel. The harness
// connects its own pbx.Client to the Stasis app "hotline-test" and
// originates
//
//	POST /channels?endpoint=Local/12315@hotline&app=hotline-test&channelId=<;1>&otherChannelId=<;2>&callerId="caller" <from>
//
// The ;2 half runs the [hotline] dialplan into Stasis(hotline), where the
// controller under test gets it: Call.ChannelID is ;2. The ;1 half enters
// hotline-test once ;2 is answered, and the harness runs the steps on it:
// a digit is POST /channels/{;1}/dtmf (Asterisk passes DTMF across the
// pair), a tone is a playback of tone:!F/ms on ;1 (the "!" plays it once),
// stopped after its duration because Asterisk's tone playbacks never
// finish on their own; "fFILE" plays sound:NAME, so FILE must be a WAV
// under HOTLINE_TEST_SOUNDS_DIR (Asterisk's sounds directory); "h" is
// DELETE /channels/{;1}; "p" follows ;2's playbacks, seen because Asterisk
// subscribes the originating app to a Local channel's peer (the harness
// also subscribes with POST /applications/hotline-test/subscription): it
// waits up to 2 s for one to start, then until it finishes. A prompt the
// controller starts on the previous one's PlaybackFinished is the next
// "p"'s, as in the simulation; one queued behind another is too (queued
// playbacks are only visible once they start), where the simulation waits
// for the whole queue. Answered is ;2 going Up. With Listen the
// harness snoops ;1 (spy in: what the controller sends the caller),
// records the snoop, and Heard returns that recording once Done is closed.
//
// What the Asterisk needs (the files are in asterisk-config/):
//   - http.conf: the HTTP server on 127.0.0.1:8088 (ARI under /ari);
//   - ari.conf: the ARI user; HOTLINE_TEST_ARI_USER and
//     HOTLINE_TEST_ARI_PASSWORD are its name and password (the controller
//     and the harness both use it);
//   - extensions.conf: the [hotline] context with exten 12315 (the
//     dialplan under test, Stasis(${HOTLINE_APP})) and [hotline-test]; the
//     Stasis app named by HOTLINE_TEST_ARI_APP (default "hotline") must be
//     the one [hotline] sends calls to;
//   - the prompts: scripts/prompts -out DIR, then DIR copied (or linked)
//     into Asterisk's sounds directory, so sound:hotline/welcome resolves
//     to <sounds>/<lang>/hotline/welcome.wav as in the simulation;
//   - HOTLINE_TEST_SOUNDS_DIR (optional): Asterisk's sounds directory, if
//     the tests may write to it (Asterisk on the same host). Tests put
//     their own prompts under PBX.SoundsDir and "fFILE" needs it.
//
// Then, on the Asterisk host:
//
//	HOTLINE_TEST_ARI_URL=http://127.0.0.1:8088/ari HOTLINE_TEST_ARI_USER=hotline \
//	HOTLINE_TEST_ARI_PASSWORD=... HOTLINE_TEST_SOUNDS_DIR=/var/lib/asterisk/sounds \
//	go test -p 1 -timeout 30m ./...
//
// One test at a time uses the real Asterisk (they share the app names):
// New makes parallel tests of one package wait for each other, and -p 1
// keeps packages apart. Calls that run at once on the simulation run one
// after another there, in real time (callflow's TestE2E alone takes about
// five minutes), hence the longer -timeout. Tests that need
// Options.Endpoints are skipped there, saying so: scripted phones exist
// only in the simulation.
// Options.SoundsDir and RecordingsDir are the simulation's; Asterisk uses
// its own (recordings are read over ARI). The [hotline] dialplan sets the
// channel language to zh, whatever CallSpec.Language says.
//
// The real harness is exercised here against the simulated Asterisk, which
// implements the Local originate for that purpose; no real Asterisk was
// available when it was written.
package pbxtest
