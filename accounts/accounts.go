// Package accounts keeps the people who work the hotline (agents, supervisors, admins) in
// PostgreSQL: who they are, what they may do, their skills for routing, and their password
// hashes (argon2id). Every change is written to the audit log in the same transaction.
package accounts

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AgentID is the database id of an account (agents.id).
type AgentID int64

func (id AgentID) String() string { return strconv.FormatInt(int64(id), 10) }

// Role is what an account may do.
type Role string

// The roles, from least to most privileged.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Roles lists every role.
var Roles = []Role{RoleAgent, RoleSupervisor, RoleAdmin}

func (r Role) String() string { return string(r) }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Skill is something an agent can handle (a language, a case type, a merged line) and how well,
// from 1 to 5; the ACD routes on it.
type Skill struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// Account is an agent, supervisor or admin as stored. The password hash never leaves the
// package.
type Account struct {
	ID          AgentID   `json:"id"`
	Login       string    `json:"login"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Skills      []Skill   `json:"skills"`
	Disabled    bool      `json:"disabled"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewAccount is what Create needs. Password may be empty: the account then cannot sign in
// until SetPassword.
type NewAccount struct {
	Login       string
	DisplayName string
	Role        Role
	Skills      []Skill
	Password    string
}

// Error is an accounts error that knows its HTTP status. The sentinels below are *Error; a
// returned error wraps one of them with the details, so callers branch with errors.Is and
// find the status with errors.As.
type Error struct {
	msg    string
	status int
}

func (e *Error) Error() string { return e.msg }

// HTTPStatus is the status an HTTP handler should answer with.
func (e *Error) HTTPStatus() int { return e.status }

// Sentinel errors callers branch on.
var (
	ErrNotFound       = &Error{"account not found", http.StatusNotFound}
	ErrLoginTaken     = &Error{"login already taken", http.StatusConflict}
	ErrInvalid        = &Error{"invalid account", http.StatusBadRequest}
	ErrWeakPassword   = &Error{"password too weak", http.StatusBadRequest}
	ErrBadCredentials = &Error{"wrong login or password", http.StatusUnauthorized}
	ErrDisabled       = &Error{"account disabled", http.StatusForbidden}
)

// HTTPStatus returns the status carried by err, or 500 when it carries none.
func HTTPStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.status
	}
	return http.StatusInternalServerError
}

// loginPattern is the agents.login CHECK constraint, repeated here to give a clear message.
var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// CheckLogin says whether login is acceptable as an account login.
func CheckLogin(login string) error {
	if !loginPattern.MatchString(login) {
		return fmt.Errorf("%w: login %q must be 2 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
			ErrInvalid, login)
	}
	return nil
}

// MaxDisplayNameLen is the longest display name, in characters.
const MaxDisplayNameLen = 100

func checkDisplayName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: display name is empty", ErrInvalid)
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxDisplayNameLen {
		return fmt.Errorf("%w: display name must be valid text of at most %d characters", ErrInvalid, MaxDisplayNameLen)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: display name contains control characters", ErrInvalid)
	}
	return nil
}

func checkRole(r Role) error {
	if !r.Valid() {
		return fmt.Errorf("%w: role %q is not one of agent, supervisor, admin", ErrInvalid, r)
	}
	return nil
}

var skillPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// CheckSkills validates skill names (lower case, as the ACD and the IVR name them), levels
// (1 to 5) and that no skill is listed twice.
func CheckSkills(skills []Skill) error {
	seen := map[string]bool{}
	for _, s := range skills {
		if !skillPattern.MatchString(s.Name) {
			return fmt.Errorf("%w: skill name %q must be 1 to 32 characters of a-z, 0-9, '_' or '-', starting with a letter", ErrInvalid, s.Name)
		}
		if s.Level < 1 || s.Level > 5 {
			return fmt.Errorf("%w: skill %s has level %d, levels go from 1 to 5", ErrInvalid, s.Name, s.Level)
		}
		if seen[s.Name] {
			return fmt.Errorf("%w: skill %s is listed twice", ErrInvalid, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// ParseSkills reads "zh:5,complaint:3" (the command line's form).
func ParseSkills(s string) ([]Skill, error) {
	var out []Skill
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		name, level, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, fmt.Errorf("%w: skill %q is not name:level (e.g. zh:5)", ErrInvalid, item)
		}
		n, err := strconv.Atoi(level)
		if err != nil {
			return nil, fmt.Errorf("%w: skill %q: level %q is not a whole number from 1 to 5", ErrInvalid, item, level)
		}
		out = append(out, Skill{Name: name, Level: n})
	}
	if err := CheckSkills(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Check validates n as Create does, with a clear message for the first problem.
func (n NewAccount) Check() error {
	if err := CheckLogin(n.Login); err != nil {
		return err
	}
	if err := checkDisplayName(n.DisplayName); err != nil {
		return err
	}
	if err := checkRole(n.Role); err != nil {
		return err
	}
	if err := CheckSkills(n.Skills); err != nil {
		return err
	}
	if n.Password != "" {
		return CheckPassword(n.Login, n.Password)
	}
	return nil
}
