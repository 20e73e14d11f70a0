package ivr

import (
	"fmt"
	"sort"
	"time"
)

// NodeID names a node of a menu.
type NodeID string

// PromptName names a prompt, e.g. "hotline/welcome". Asterisk plays it as
// "sound:hotline/welcome" and finds the file under its sounds directory for the channel's
// language: <sounds>/<language>/hotline/welcome.<format>.
type PromptName string

// Media returns the ARI media URI of the prompt.
func (p PromptName) Media() string { return "sound:" + string(p) }

// Language is a channel language code as Asterisk uses it, e.g. "zh" or "en".
type Language string

// Digit is one DTMF key: 0-9, *, # (and A-D, which a caller's phone may send but no menu
// accepts).
type Digit byte

func (d Digit) String() string { return string(rune(d)) }

// menuDigit reports whether d may appear in a menu: 0-9, * and #.
func (d Digit) menuDigit() bool { return d >= '0' && d <= '9' || d == '*' || d == '#' }

// ParseDigit reads one DTMF key as ARI reports it in ChannelDtmfReceived.
func ParseDigit(s string) (Digit, error) {
	if len(s) == 1 {
		d := Digit(s[0])
		if d.menuDigit() || d >= 'A' && d <= 'D' {
			return d, nil
		}
	}
	return 0, fmt.Errorf("parse DTMF digit %q: not one of 0-9 * # A-D", s)
}

// Kind is the kind of a menu node.
type Kind int

// Node kinds. Play, Hours, Menu, Language, Collect and StatusLookup lead on to other
// nodes; the rest end the menu.
const (
	KindPlay         Kind = iota + 1 // play prompts, then go to next
	KindMenu                         // play a prompt, wait for a key, go where it says
	KindCollect                      // collect several digits, hand them to the shell, go to next
	KindLanguage                     // a key chooses the call's language
	KindHours                        // branch on opening hours
	KindQueue                        // hand the call to the ACD
	KindVoicemail                    // record a message for a callback
	KindStatusLookup                 // collect a case number, look it up, play its status
	KindEmergency                    // hand the call to the emergency desk and escalate
	KindTransfer                     // transfer to an outside number
	KindHangup                       // say goodbye and hang up
)

var kindNames = map[Kind]string{
	KindPlay:         "play",
	KindMenu:         "menu",
	KindCollect:      "collect",
	KindLanguage:     "language",
	KindHours:        "hours",
	KindQueue:        "queue",
	KindVoicemail:    "voicemail",
	KindStatusLookup: "status_lookup",
	KindEmergency:    "emergency",
	KindTransfer:     "transfer",
	KindHangup:       "hangup",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func parseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return k, true
		}
	}
	return 0, false
}

// waitsForInput reports whether a node of this kind listens for the caller's keys.
func (k Kind) waitsForInput() bool {
	return k == KindMenu || k == KindCollect || k == KindLanguage || k == KindStatusLookup
}

// terminal reports whether a node of this kind ends the menu.
func (k Kind) terminal() bool {
	return k == KindQueue || k == KindVoicemail || k == KindEmergency || k == KindTransfer || k == KindHangup
}

// Priority is the ACD priority class of a queued call.
type Priority int

// Priority classes, most urgent first.
const (
	PriorityEmergency Priority = iota + 1
	PriorityComplaint
	PriorityReport
	PriorityConsult
	PriorityCallback
)

var priorityNames = map[Priority]string{
	PriorityEmergency: "emergency",
	PriorityComplaint: "complaint",
	PriorityReport:    "report",
	PriorityConsult:   "consult",
	PriorityCallback:  "callback",
}

func (p Priority) String() string {
	if s, ok := priorityNames[p]; ok {
		return s
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

func parsePriority(s string) (Priority, bool) {
	for p, name := range priorityNames {
		if name == s {
			return p, true
		}
	}
	return 0, false
}

// CaseKind is the kind of case a call becomes. The values are those of cases.Kind; ivr keeps
// its own type because package cases also holds the database store.
type CaseKind string

// Case kinds a menu can give a call. Invalid is for calls that end in the menu with no
// content.
const (
	CaseConsult    CaseKind = "consult"
	CaseComplaint  CaseKind = "complaint"
	CaseReport     CaseKind = "report"
	CaseSuggestion CaseKind = "suggestion"
	CaseOpinion    CaseKind = "opinion"
	CaseHelp       CaseKind = "help"
	CaseInvalid    CaseKind = "invalid"
)

func (k CaseKind) String() string { return string(k) }

func (k CaseKind) valid() bool {
	switch k {
	case CaseConsult, CaseComplaint, CaseReport, CaseSuggestion, CaseOpinion, CaseHelp, CaseInvalid:
		return true
	}
	return false
}

// Skill is an ACD skill a queued call requires, at a minimum level.
type Skill struct {
	Name  string
	Level int
}

// Input holds how a node that waits for keys listens, and what happens when it gives up.
type Input struct {
	Timeout       time.Duration // no key for this long after the prompt: no input
	Retries       int           // failures allowed before the fallback: the prompt plays at most Retries+1 times
	InvalidPrompt PromptName    // played before the node's prompts after a wrong key
	NoInputPrompt PromptName    // played before the node's prompts after no input
	Fallback      NodeID        // where the call goes when retries are exhausted
}

// Digits says how a collect or status_lookup node reads a number.
type Digits struct {
	Min, Max   int
	Terminator Digit         // 0 when the entry ends at Max digits
	InterDigit time.Duration // longest pause between two digits
}

// Queue says where a queue or emergency node hands the call.
type Queue struct {
	Name     string
	Skills   []Skill
	Priority Priority
}

// Voicemail says how a voicemail node records.
type Voicemail struct {
	MaxLength  time.Duration
	MaxSilence time.Duration
	Beep       bool
}

// Lookup says how a status_lookup node speaks the result of a look-up.
type Lookup struct {
	Timeout     time.Duration         // longest wait for the shell's LookupResult
	Statuses    map[string]PromptName // case status -> prompt
	OtherStatus PromptName            // a status not in Statuses
	NotFound    PromptName            // played before the node's prompts when no case has the number
	Failed      PromptName            // the look-up failed: played before going to the fallback
}

// Node is one step of a menu. Which fields matter depends on Kind.
type Node struct {
	ID      NodeID
	Kind    Kind
	Line    int // line of the node in its file
	Prompts []PromptName
	BargeIn bool // a key stops the prompts

	Next      NodeID              // play, language, collect; status_lookup: after a found case
	Choices   map[Digit]NodeID    // menu
	Languages map[Digit]Language  // language
	Input     Input               // menu, language, collect, status_lookup
	Digits    Digits              // collect, status_lookup
	Var       string              // collect: the name the value is reported under (default: the node's id)
	Open      NodeID              // hours
	Closed    NodeID              // hours
	Holiday   NodeID              // hours, optional: closed on a public holiday (else Closed)
	Queue     Queue               // queue, emergency
	Voicemail Voicemail           // voicemail
	Lookup    Lookup              // status_lookup
	Number    string              // transfer
	CaseKind  CaseKind            // queue, voicemail, emergency, transfer, hangup
	lines     map[string]int      // field (or "digit X") -> line, for messages
	promptAt  map[PromptName]int  // prompt reference -> line of its first use in this node
	defaulted map[string]struct{} // fields taken from the menu's defaults
}

// line returns the line of a field of the node, or the node's own line.
func (n *Node) line(field string) int {
	if l, ok := n.lines[field]; ok {
		return l
	}
	return n.Line
}

// Prompt is one prompt with its text per language: the source from which development audio
// is generated and the script production recordings follow.
type Prompt struct {
	Name string
	Text map[string]string
}

// Menu is a loaded and validated menu. Build it with Load or Default; NewMachine refuses a
// menu built any other way.
type Menu struct {
	File           string // the name the menu was loaded under, used in messages
	Start          NodeID
	Languages      []Language // offered languages; the first is the default
	LanguageSkills map[Language][]Skill
	MaxPrompt      time.Duration // guard timer while a prompt plays
	Nodes          map[NodeID]*Node
	order          []NodeID // nodes in file order
	prompts        map[PromptName]promptDef
	validated      bool

	// Where things were written, for messages.
	startLine           int
	defaultFallback     NodeID
	defaultFallbackLine int
	broken              map[NodeID]bool    // written but unreadable nodes
	defaultPrompts      map[PromptName]int // prompts named in defaults -> line
}

type promptDef struct {
	text map[Language]string
	line int
}

// NodeIDs returns the menu's node ids in file order.
func (m *Menu) NodeIDs() []NodeID { return append([]NodeID(nil), m.order...) }

// Prompts lists every prompt the menu defines, sorted by name, with its text per language.
func (m *Menu) Prompts() []Prompt {
	out := make([]Prompt, 0, len(m.prompts))
	for name, def := range m.prompts {
		p := Prompt{Name: string(name), Text: make(map[string]string, len(def.text))}
		for lang, text := range def.text {
			p.Text[string(lang)] = text
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DefaultLanguage is the language a call starts in when its channel's is not offered.
func (m *Menu) DefaultLanguage() Language { return m.Languages[0] }

func (m *Menu) offers(l Language) bool {
	for _, x := range m.Languages {
		if x == l {
			return true
		}
	}
	return false
}
