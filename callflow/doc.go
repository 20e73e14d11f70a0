// Package callflow runs the hotline's calls: one goroutine per caller, from StasisStart
// to the closed call record.
//
// For each caller that enters the Stasis app the Runner starts a goroutine that owns the
// call: it opens a draft case and the call row (cases.Store.CreateCaseWithCall), answers,
// runs the IVR machine (ivr.Machine) by turning its actions into ARI requests and timers
// and ARI events into machine events, and, when the call leaves the menu, carries out the
// last action: a queue (Queue.Offer: ACDQueue, or BusyQueue, which sends every caller to
// voicemail), the emergency desk (the same, with an emergency entry on the case trail), a
// voice message (recorded over ARI, stored with recordstore, attached to the case with a
// callback task), a case-progress look-up, a goodbye. It then registers the case with its
// kind, channel, status and statutory due time (Deadlines), and closes the call row with its
// outcome and IVR path.
//
// With ACDQueue the call is enqueued in the distributor (acd.Store) and its goroutine keeps
// the caller waiting (DecideWait): hold media on a loop; key 1 leaves a message, key 2 asks
// for a callback that keeps the caller's place (ConvertToCallback); the queue's maximum wait
// leads to a message (an emergency's, to the duty officers). The queue's dispatcher (ACDQueue.Run, one per controller) reserves
// agents with ReserveBest and hands each reservation to the goroutine that owns the call;
// that goroutine rings the agent through an AgentLine (SIPLine: an originate to the agent's
// phone), marks RONA when the phone rings out, bridges caller and agent when the agent
// answers (an agent_connected entry with the routing trace goes on the case trail), and
// when either side hangs up finishes the conversation (wrap-up), hangs up the other side
// and destroys the bridge.
//
//	q, err := callflow.NewACDQueue(callflow.ACDConfig{Store: store, ACD: acdCfg,
//	        Line: callflow.SIPLine{PBX: client}, Bridges: client})
//	go q.Run(ctx)   // the dispatcher
//	r, err := callflow.New(callflow.Config{..., Queue: q})
//
// While connected, the agent's commands (hold, transfer to a queue or an agent) and the
// seat's state (lost: a hold message and a grace period; back: a new media channel) reach
// the goroutine as leg events (agentline.go); it alone acts on the PBX. Reservations of
// calls another controller owns travel on the ReservationBus. Callback tasks (outbound.go)
// are scheduled into the distributor and each is dialled by a goroutine of its own, which
// bridges the callee with the agent's seat and writes an outbound call row on the same case.
//
// An emergency goes through EmergencyDesk (emergency.go): outside opening hours, or when
// no agent with the emergency skill is ready, it starts the duty officers' escalation
// chain (escalation/dutydesk) and the caller hears a hold prompt until an officer who
// accepts is handed over and bridged, or the chain gives up and the caller leaves a
// message; the chain's goroutine owns the officers' channels until the handover.
//
// The decisions about the case are a pure function (plan) of what the call observed; the
// goroutine only carries them out. A panic in one call is recovered in that call's
// goroutine: the call is hung up and its records closed, other calls never notice. A
// failed database write is logged with the call and case, counted, and the call goes on:
// a caller is never left in silence, and what was written stays written.
//
//	r, err := callflow.New(callflow.Config{Calls: client, PBX: client,
//	        Cases: callflow.NewCaseStore(store), Recordings: recs, Machine: machine,
//	        Deadlines: deadlines, Registerer: reg})
//	go r.Run(ctx)   // until ctx ends; then every call is hung up and closed
//
// Every log line of a call carries "call" (the channel id) and "case" (the case number).
package callflow
