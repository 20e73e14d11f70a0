// Package acd is the automatic call distributor: queues, skills, the agent state machine,
// routing and queue statistics.
//
// The package itself is the functional core. Everything here that decides is a pure
// function of its arguments and an explicit time:
//
//   - the model (queues, skills with levels 1-5, agents, waiting items: calls and callback
//     tasks) and its validation (Config);
//   - the agent state machine (LoginAgent, ChangeState and the *Pair transitions), where
//     every transition is compare-and-set on an expected state and a mismatch is a
//     *ConflictError that matches ErrStateConflict;
//   - routing (Router): one global order of waiting items across all queues (priority class
//     as a head start, then waiting time), relaxation steps per queue, a small pure Strategy
//     to choose among eligible agents, and a Trace of why each agent was chosen;
//   - queue statistics (ComputeQueueStats, EstimateWait, Wallboard).
//
// The shared state lives behind Store, with two implementations that pass one contract
// suite (acd/acdtest): acd/memstore (one process) and acd/redisstore (several controllers).
// Both run the same engine (acd/internal/engine), so the semantics are written once.
// acd/acdmetrics registers the statistics and error counts with Prometheus.
//
// How the call flow drives it:
//
//	enqueue       Store.Enqueue(Item)                   ErrQueueFull: offer voicemail/callback
//	while waiting ReviewItem(queue, item, now)          at Review.Next: ActionOffer, ActionMaxWait
//	caller leaves Store.Remove(id, RemoveAbandoned|RemoveDiverted), or Store.ConvertToCallback
//	dispatch      Store.ReserveBest(n)                  on enqueue, agent ready, relaxation step
//	ring          Store.Offer(r)                        store r.Trace on the call
//	answered      Store.Answer(r)                       bridge
//	not answered  Store.NoAnswer(r) or Store.Expire     RONA: item to the front, agent not_ready
//	hang-up       Store.Finish(r)                       wrap-up, then Expire or SetState -> ready
//	sweeper       Store.Expire() every second or so     lapsed reservations, RONA, wrap-up ends
package acd
