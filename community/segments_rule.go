package community

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalidRule is wrapped by *RuleError.
var ErrInvalidRule = errors.New("invalid segment rule")

// RuleError says where a segment rule is wrong and what is wrong there.
// Path names the place in the rule, such as "and[1].watched_show.min_seconds".
type RuleError struct {
	Path    string
	Problem string
}

func (e *RuleError) Error() string {
	if e.Path == "" {
		return "rule: " + e.Problem
	}
	return "rule." + e.Path + ": " + e.Problem
}

// Unwrap returns ErrInvalidRule.
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// Rule is a parsed segment rule: a tree of and, or and not over
// predicates. The JSON form is an object with exactly one key:
//
//	{"and": [rule, …]}   every rule holds
//	{"or":  [rule, …]}   at least one holds
//	{"not": rule}         the rule does not hold
//	{"<predicate>": {params}}
//
// The predicates are listed by RulePredicates.
type Rule struct {
	op     string
	kids   []Rule
	params map[string]any
}

// ruleLimits bound a rule's size.
const (
	maxRuleDepth = 12
	maxRuleNodes = 200
	maxRuleBytes = 64 << 10
)

// paramKind is the type of a predicate parameter.
type paramKind int

const (
	kindID     paramKind = iota // a non-empty string of at most 64 characters
	kindCount                   // a whole number ≥ 0
	kindPos                     // a whole number ≥ 1
	kindStatus                  // one of a fixed set of strings
)

// paramSpec describes one parameter of a predicate.
type paramSpec struct {
	name     string
	kind     paramKind
	required bool
	values   []string // kindStatus
	help     string
}

// PredicateSpec describes one predicate of the rule language.
type PredicateSpec struct {
	Name   string      `json:"name"`
	Help   string      `json:"help"`
	Params []ParamSpec `json:"params"`
}

// ParamSpec describes one parameter of a predicate.
type ParamSpec struct {
	Name     string   `json:"name"`
	Type     string   `json:"type" enum:"id,count,positive,status"`
	Required bool     `json:"required"`
	Values   []string `json:"values,omitempty"`
	Help     string   `json:"help"`
}

// predicateSpec returns the parameters and meaning of a predicate.
func predicateSpec(name string) ([]paramSpec, string, bool) {
	switch name {
	case "watched_show":
		return []paramSpec{
			{name: "show_id", kind: kindID, required: true, help: "the show"},
			{name: "min_seconds", kind: kindCount, help: "watched at least this long in all (default: any time at all)"},
		}, "watched a show", true
	case "reserved":
		return []paramSpec{{name: "show_id", kind: kindID, required: true, help: "the show"}}, "reserved a show", true
	case "reserved_not_watched":
		return []paramSpec{{name: "show_id", kind: kindID, required: true, help: "the show"}},
			"reserved a show and never joined it", true
	case "commented":
		return []paramSpec{
			{name: "show_id", kind: kindID, help: "in this show (default: any)"},
			{name: "days", kind: kindPos, help: "within this many days (default: ever)"},
		}, "commented in a live room", true
	case "joined_group":
		return []paramSpec{
			{name: "chat_id", kind: kindID, help: "this WeCom customer group (default: any)"},
			{name: "within_days", kind: kindPos, help: "joined within this many days (default: ever)"},
		}, "is in a WeCom customer group now", true
	case "wecom_contact":
		return []paramSpec{{name: "staff_userid", kind: kindID, help: "a customer of this staff member (default: of anyone)"}},
			"is a WeCom customer (external contact) of the brand's staff", true
	case "converted_from_show":
		return []paramSpec{{name: "show_id", kind: kindID, required: true, help: "the show"}},
			"joined a group or added staff through a way attributed to a show", true
	case "invited_by":
		return []paramSpec{{name: "member_id", kind: kindID, required: true, help: "the inviter"}},
			"was first brought by a member (first-touch inviter)", true
	case "first_show":
		return []paramSpec{{name: "show_id", kind: kindID, required: true, help: "the show"}},
			"first came through a show (first touch)", true
	case "spent_over":
		return []paramSpec{
			{name: "fen", kind: kindCount, required: true, help: "more than this many fen, refunds taken off"},
			{name: "days", kind: kindPos, help: "paid within this many days (default: ever)"},
		}, "spent more than an amount", true
	case "paid_in":
		return []paramSpec{{name: "days", kind: kindPos, help: "within this many days (default: ever)"}},
			"paid for an order", true
	case "not_paid_in":
		return []paramSpec{{name: "days", kind: kindPos, required: true, help: "within this many days"}},
			"paid for no order (within a time)", true
	case "has_tag":
		return []paramSpec{{name: "tag_id", kind: kindID, required: true, help: "the tag"}}, "has a tag", true
	case "joined_within":
		return []paramSpec{{name: "days", kind: kindPos, required: true, help: "became a member within this many days"}},
			"is a new member", true
	case "has_phone":
		return []paramSpec{}, "bound a phone number", true
	case "has_coupon":
		return []paramSpec{
			{name: "template_id", kind: kindID, help: "of this template (default: any)"},
			{name: "status", kind: kindStatus, values: []string{CouponAvailable, CouponReserved, CouponUsed, CouponExpired, CouponRevoked}, help: "in this status (default: available)"},
		}, "holds a coupon", true
	case "consented":
		return []paramSpec{{name: "template_id", kind: kindID, required: true, help: "the subscribe-message template"}},
			"has a subscribe-message consent left for a template", true
	case "not_targeted_by":
		return []paramSpec{
			{name: "campaign_id", kind: kindID, required: true, help: "the campaign"},
			{name: "days", kind: kindPos, help: "within this many days (default: ever)"},
		}, "was not targeted by a campaign", true
	}
	return nil, "", false
}

// predicateNames lists every predicate, sorted.
func predicateNames() []string {
	names := []string{"watched_show", "reserved", "reserved_not_watched", "commented", "joined_group", "wecom_contact",
		"converted_from_show", "invited_by", "first_show", "spent_over", "paid_in", "not_paid_in", "has_tag",
		"joined_within", "has_phone", "has_coupon", "consented", "not_targeted_by"}
	sort.Strings(names)
	return names
}

// RulePredicates describes every predicate of the rule language.
func RulePredicates() []PredicateSpec {
	var out []PredicateSpec
	for _, n := range predicateNames() {
		params, help, _ := predicateSpec(n)
		ps := PredicateSpec{Name: n, Help: help, Params: []ParamSpec{}}
		for _, p := range params {
			t := [...]string{"id", "count", "positive", "status"}[p.kind]
			ps.Params = append(ps.Params, ParamSpec{Name: p.name, Type: t, Required: p.required, Values: p.values, Help: p.help})
		}
		out = append(out, ps)
	}
	return out
}

// ParseRule reads and validates a rule. A rule that is wrong is a
// *RuleError naming the place and the problem.
func ParseRule(raw []byte) (Rule, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return Rule{}, &RuleError{Problem: "a rule is required"}
	}
	if len(raw) > maxRuleBytes {
		return Rule{}, &RuleError{Problem: fmt.Sprintf("longer than %d bytes", maxRuleBytes)}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return Rule{}, &RuleError{Problem: "not JSON: " + err.Error()}
	}
	if dec.More() {
		return Rule{}, &RuleError{Problem: "not JSON: more than one value"}
	}
	p := &ruleParser{}
	return p.parse(v, "", 1)
}

type ruleParser struct {
	nodes int
}

func rulePath(path, part string) string {
	if path == "" {
		return part
	}
	if strings.HasPrefix(part, "[") {
		return path + part
	}
	return path + "." + part
}

func (p *ruleParser) parse(v any, path string, depth int) (Rule, error) {
	p.nodes++
	if p.nodes > maxRuleNodes {
		return Rule{}, &RuleError{Path: path, Problem: fmt.Sprintf("the rule has more than %d parts", maxRuleNodes)}
	}
	if depth > maxRuleDepth {
		return Rule{}, &RuleError{Path: path, Problem: fmt.Sprintf("nested deeper than %d", maxRuleDepth)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Rule{}, &RuleError{Path: path, Problem: "must be an object with one key: and, or, not or a predicate"}
	}
	if len(obj) != 1 {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return Rule{}, &RuleError{Path: path, Problem: fmt.Sprintf("must have exactly one key, has %d (%s)", len(obj), strings.Join(keys, ", "))}
	}
	var op string
	var arg any
	for k, v := range obj {
		op, arg = k, v
	}
	here := rulePath(path, op)
	switch op {
	case "and", "or":
		list, ok := arg.([]any)
		if !ok {
			return Rule{}, &RuleError{Path: here, Problem: "must be a list of rules"}
		}
		if len(list) == 0 {
			return Rule{}, &RuleError{Path: here, Problem: "must list at least one rule"}
		}
		r := Rule{op: op}
		for i, item := range list {
			kid, err := p.parse(item, here+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return Rule{}, err
			}
			r.kids = append(r.kids, kid)
		}
		return r, nil
	case "not":
		kid, err := p.parse(arg, here, depth+1)
		if err != nil {
			return Rule{}, err
		}
		return Rule{op: op, kids: []Rule{kid}}, nil
	default:
		return p.predicate(op, arg, here)
	}
}

func (p *ruleParser) predicate(name string, arg any, path string) (Rule, error) {
	specs, _, ok := predicateSpec(name)
	if !ok {
		return Rule{}, &RuleError{Path: path, Problem: fmt.Sprintf("unknown predicate %q; known: and, or, not, %s", name, strings.Join(predicateNames(), ", "))}
	}
	if arg == nil {
		arg = map[string]any{}
	}
	obj, ok := arg.(map[string]any)
	if !ok {
		return Rule{}, &RuleError{Path: path, Problem: "must be an object of parameters"}
	}
	known := map[string]paramSpec{}
	for _, s := range specs {
		known[s.name] = s
	}
	for k := range obj {
		if _, ok := known[k]; !ok {
			names := make([]string, 0, len(specs))
			for _, s := range specs {
				names = append(names, s.name)
			}
			if len(names) == 0 {
				return Rule{}, &RuleError{Path: rulePath(path, k), Problem: "unknown parameter; " + name + " takes none"}
			}
			return Rule{}, &RuleError{Path: rulePath(path, k), Problem: "unknown parameter; " + name + " takes " + strings.Join(names, ", ")}
		}
	}
	r := Rule{op: name, params: map[string]any{}}
	for _, s := range specs {
		val, present := obj[s.name]
		here := rulePath(path, s.name)
		if !present || val == nil {
			if s.required {
				return Rule{}, &RuleError{Path: here, Problem: "is required"}
			}
			continue
		}
		switch s.kind {
		case kindID:
			str, ok := val.(string)
			str = strings.TrimSpace(str)
			if !ok || str == "" || len(str) > 64 {
				return Rule{}, &RuleError{Path: here, Problem: "must be a non-empty id of at most 64 characters"}
			}
			r.params[s.name] = str
		case kindCount, kindPos:
			num, ok := val.(json.Number)
			n, err := num.Int64()
			if !ok || err != nil {
				return Rule{}, &RuleError{Path: here, Problem: "must be a whole number"}
			}
			if s.kind == kindPos && n < 1 {
				return Rule{}, &RuleError{Path: here, Problem: "must be at least 1"}
			}
			if n < 0 {
				return Rule{}, &RuleError{Path: here, Problem: "cannot be negative"}
			}
			if n > 1_000_000_000_000 {
				return Rule{}, &RuleError{Path: here, Problem: "is too large"}
			}
			if (s.name == "days" || s.name == "within_days") && n > 36500 {
				return Rule{}, &RuleError{Path: here, Problem: "must be at most 36500 days"}
			}
			r.params[s.name] = n
		case kindStatus:
			str, ok := val.(string)
			if !ok || !slices.Contains(s.values, str) {
				return Rule{}, &RuleError{Path: here, Problem: "must be one of " + strings.Join(s.values, ", ")}
			}
			r.params[s.name] = str
		}
	}
	return r, nil
}

// MarshalJSON writes the rule in its JSON form.
func (r Rule) MarshalJSON() ([]byte, error) {
	switch r.op {
	case "":
		return []byte("null"), nil
	case "and", "or":
		return json.Marshal(map[string][]Rule{r.op: r.kids})
	case "not":
		return json.Marshal(map[string]Rule{"not": r.kids[0]})
	}
	return json.Marshal(map[string]map[string]any{r.op: r.params})
}

// IsZero reports whether the rule is empty (never parsed).
func (r Rule) IsZero() bool { return r.op == "" }

// str, num read a parameter (empty and 0 when absent).
func (r Rule) str(name string) string {
	s, _ := r.params[name].(string)
	return s
}

func (r Rule) num(name string) int64 {
	n, _ := r.params[name].(int64)
	return n
}

// walk calls fn on every predicate of the rule with its path.
func (r Rule) walk(path string, fn func(r Rule, path string) error) error {
	switch r.op {
	case "and", "or":
		for i, k := range r.kids {
			if err := k.walk(rulePath(rulePath(path, r.op), "["+strconv.Itoa(i)+"]"), fn); err != nil {
				return err
			}
		}
		return nil
	case "not":
		return r.kids[0].walk(rulePath(path, "not"), fn)
	}
	return fn(r, rulePath(path, r.op))
}
