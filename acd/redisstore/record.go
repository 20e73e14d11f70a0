package redisstore

import (
	"encoding/json"
	"time"

	"hotline/acd"
)

// The stored form of records: short keys, times as Unix microseconds, enums as their
// numeric codes (see TestStoredCodes: they must never be renumbered), zero values left out.
// Records are read and written on every reservation, so their size and decoding cost are
// the store's throughput: agents and items are written by hand (jsonw.go, byte for byte what
// encoding/json writes) and read by hand too (jsonr.go).

type workRec struct {
	Reservation acd.ReservationID `json:"r,omitempty"`
	Item        acd.ItemID        `json:"i,omitempty"`
	Queue       acd.QueueName     `json:"q,omitempty"`
	Kind        uint8             `json:"k,omitempty"`
	Class       uint8             `json:"c,omitempty"`
	Due         int64             `json:"d,omitempty"`
	AnsweredAt  int64             `json:"a,omitempty"`
	EndedAt     int64             `json:"e,omitempty"`
}

type agentRec struct {
	ID          acd.AgentID                 `json:"i"`
	Name        string                      `json:"n,omitempty"`
	Skills      map[acd.SkillName]acd.Level `json:"s,omitempty"`
	Groups      []acd.GroupName             `json:"g,omitempty"`
	State       uint8                       `json:"st,omitempty"`
	Reason      acd.Reason                  `json:"rs,omitempty"`
	Since       int64                       `json:"t,omitempty"`
	LoginAt     int64                       `json:"li,omitempty"`
	ReadySince  int64                       `json:"rd,omitempty"`
	LastOfferAt int64                       `json:"lo,omitempty"`
	Busy        int64                       `json:"b,omitempty"` // microseconds
	Work        *workRec                    `json:"w,omitempty"`
}

type skillRec struct {
	Skill acd.SkillName `json:"s"`
	Min   uint8         `json:"m"`
}

type itemRec struct {
	ID          acd.ItemID        `json:"i"`
	Kind        uint8             `json:"k"`
	Queue       acd.QueueName     `json:"q"`
	Class       uint8             `json:"c"`
	Language    acd.SkillName     `json:"l,omitempty"`
	Skills      []skillRec        `json:"s,omitempty"`
	EnqueuedAt  int64             `json:"e"`
	CaseID      acd.CaseID        `json:"ci,omitempty"`
	CaseNumber  acd.CaseNumber    `json:"cn,omitempty"`
	Number      string            `json:"n,omitempty"`
	Origin      uint8             `json:"o,omitempty"`
	Status      uint8             `json:"st"`
	Agent       acd.AgentID       `json:"a,omitempty"`
	Reservation acd.ReservationID `json:"r,omitempty"`
	Attempts    int               `json:"at,omitempty"`
	Bonus       int64             `json:"hb,omitempty"` // µs of head start on top of the class's
}

type outcomeRec struct {
	Kind     uint8         `json:"k"`
	Queue    acd.QueueName `json:"q"`
	Item     acd.ItemID    `json:"i"`
	ItemKind uint8         `json:"ik"`
	Class    uint8         `json:"c"`
	Agent    acd.AgentID   `json:"a,omitempty"`
	At       int64         `json:"t"`
	Wait     int64         `json:"w,omitempty"`
	Talk     int64         `json:"tk,omitempty"`
	WrapUp   int64         `json:"wu,omitempty"`
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func durUS(d time.Duration) int64 { return d.Microseconds() }

func fromDurUS(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

func encodeAgent(a acd.Agent) ([]byte, error) {
	r := agentRec{
		ID: a.ID, Name: a.Name, Groups: a.Groups, State: uint8(a.State), Reason: a.Reason,
		Since: us(a.Since), LoginAt: us(a.LoginAt), ReadySince: us(a.ReadySince), LastOfferAt: us(a.LastOfferAt),
		Busy: durUS(a.Busy), Skills: a.Skills,
	}
	if w := a.Work; w != (acd.Work{}) {
		r.Work = &workRec{Reservation: w.Reservation, Item: w.Item, Queue: w.Queue, Kind: uint8(w.Kind), Class: uint8(w.Class),
			Due: us(w.Due), AnsweredAt: us(w.AnsweredAt), EndedAt: us(w.EndedAt)}
	}
	return appendAgentRec(make([]byte, 0, 256), &r), nil
}

func decodeAgent(b []byte) (acd.Agent, error) {
	var a acd.Agent
	r := jsonr{b: b}
	r.object(func(k string) {
		switch k {
		case "i":
			a.ID = acd.AgentID(r.str())
		case "n":
			a.Name = r.str()
		case "s":
			r.object(func(s string) {
				if a.Skills == nil {
					a.Skills = make(map[acd.SkillName]acd.Level, 8)
				}
				a.Skills[acd.SkillName(s)] = acd.Level(r.u8())
			})
		case "g":
			r.array(func() { a.Groups = append(a.Groups, acd.GroupName(r.str())) })
		case "st":
			a.State = acd.State(r.u8())
		case "rs":
			a.Reason = acd.Reason(r.str())
		case "t":
			a.Since = fromUS(r.i64())
		case "li":
			a.LoginAt = fromUS(r.i64())
		case "rd":
			a.ReadySince = fromUS(r.i64())
		case "lo":
			a.LastOfferAt = fromUS(r.i64())
		case "b":
			a.Busy = fromDurUS(r.i64())
		case "w":
			w := &a.Work
			r.object(func(k string) {
				switch k {
				case "r":
					w.Reservation = acd.ReservationID(r.str())
				case "i":
					w.Item = acd.ItemID(r.str())
				case "q":
					w.Queue = acd.QueueName(r.str())
				case "k":
					w.Kind = acd.ItemKind(r.u8())
				case "c":
					w.Class = acd.Class(r.u8())
				case "d":
					w.Due = fromUS(r.i64())
				case "a":
					w.AnsweredAt = fromUS(r.i64())
				case "e":
					w.EndedAt = fromUS(r.i64())
				default:
					r.skip()
				}
			})
		default:
			r.skip()
		}
	})
	if err := r.end(); err != nil {
		return acd.Agent{}, err
	}
	return a, nil
}

func encodeItem(it acd.Item) ([]byte, error) {
	r := itemRec{
		ID: it.ID, Kind: uint8(it.Kind), Queue: it.Queue, Class: uint8(it.Class), Language: it.Language,
		EnqueuedAt: us(it.EnqueuedAt), CaseID: it.CaseID, CaseNumber: it.CaseNumber, Number: it.Number,
		Origin: uint8(it.Origin), Status: uint8(it.Status), Agent: it.Agent, Reservation: it.Reservation, Attempts: it.Attempts,
		Bonus: durUS(it.HeadStartBonus),
	}
	for _, s := range it.Skills {
		r.Skills = append(r.Skills, skillRec{Skill: s.Skill, Min: uint8(s.Min)})
	}
	return appendItemRec(make([]byte, 0, 192), &r), nil
}

func decodeItem(b []byte) (acd.Item, error) {
	var it acd.Item
	r := jsonr{b: b}
	r.object(func(k string) {
		switch k {
		case "i":
			it.ID = acd.ItemID(r.str())
		case "k":
			it.Kind = acd.ItemKind(r.u8())
		case "q":
			it.Queue = acd.QueueName(r.str())
		case "c":
			it.Class = acd.Class(r.u8())
		case "l":
			it.Language = acd.SkillName(r.str())
		case "s":
			r.array(func() {
				var s acd.SkillReq
				r.object(func(k string) {
					switch k {
					case "s":
						s.Skill = acd.SkillName(r.str())
					case "m":
						s.Min = acd.Level(r.u8())
					default:
						r.skip()
					}
				})
				it.Skills = append(it.Skills, s)
			})
		case "e":
			it.EnqueuedAt = fromUS(r.i64())
		case "ci":
			it.CaseID = acd.CaseID(r.i64())
		case "cn":
			it.CaseNumber = acd.CaseNumber(r.str())
		case "n":
			it.Number = r.str()
		case "o":
			it.Origin = acd.Origin(r.u8())
		case "st":
			it.Status = acd.ItemStatus(r.u8())
		case "a":
			it.Agent = acd.AgentID(r.str())
		case "r":
			it.Reservation = acd.ReservationID(r.str())
		case "at":
			it.Attempts = int(r.int(-1<<31, 1<<31-1))
		case "hb":
			it.HeadStartBonus = fromDurUS(r.i64())
		default:
			r.skip()
		}
	})
	if err := r.end(); err != nil {
		return acd.Item{}, err
	}
	return it, nil
}

func encodeOutcome(o acd.Outcome) ([]byte, error) {
	return json.Marshal(outcomeRec{
		Kind: uint8(o.Kind), Queue: o.Queue, Item: o.Item, ItemKind: uint8(o.ItemKind), Class: uint8(o.Class), Agent: o.Agent,
		At: us(o.At), Wait: durUS(o.Wait), Talk: durUS(o.Talk), WrapUp: durUS(o.WrapUp),
	})
}

func decodeOutcome(b []byte) (acd.Outcome, error) {
	var r outcomeRec
	if err := json.Unmarshal(b, &r); err != nil {
		return acd.Outcome{}, err
	}
	return acd.Outcome{
		Kind: acd.OutcomeKind(r.Kind), Queue: r.Queue, Item: r.Item, ItemKind: acd.ItemKind(r.ItemKind), Class: acd.Class(r.Class),
		Agent: r.Agent, At: fromUS(r.At), Wait: fromDurUS(r.Wait), Talk: fromDurUS(r.Talk), WrapUp: fromDurUS(r.WrapUp),
	}, nil
}
