package mapping

import (
	"errors"
	"fmt"
	tmplhtml "html/template"
	"strings"
	tmpltext "text/template"
	"text/template/parse"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// Limits of one template execution. Templates come from the operator's
// configuration, as in Alertmanager, which runs them unbounded; a delivery
// worker must not be held forever by one with a mistake (a loop over the
// alerts inside a loop over the alerts, a recursive named template).
// text/template cannot be cancelled from outside, so the limits are checked
// from inside the execution, in the writer it writes to: nothing is left
// running after execute returns.
//
//   - Output: what the template writes stops at the output limit (at least
//     minOutputLimit); the text is then cut like any long text. This is not
//     an error.
//   - Steps: every loop iteration and every named template call is a step;
//     more than maxTemplateSteps stop the execution with an error. The
//     trees are instrumented when parsed: an empty text node starts every
//     range body, and two more start and end every template body.
//     text/template writes every text node, so each step is a write, which
//     the writer counts.
//   - Depth: the markers starting and ending template bodies count how
//     deeply template calls nest; deeper than maxTemplateDepth is an error
//     (text/template's own bound, 100,000 calls, takes over 100 MB of stack).
//   - Time: every 64th write reads the clock; once maxRenderTime is over,
//     the execution stops with an error.
//   - Panics: a panic in a function or a method of the data is an execution
//     error (text/template recovers it); any other panic is recovered by
//     execute and returned as an error.
//
// What a template builds without writing it (a string doubled in a
// variable) is not bounded, as in Alertmanager. Map returns a limit's
// error, and the bridge dead-letters the ticket with it as the reason, to
// be replayed once the template is fixed.
const (
	// minOutputLimit bounds what one template execution may write.
	minOutputLimit = 1 << 20
	// maxTemplateSteps bounds the loop iterations and template calls of
	// one execution (or the output limit in bytes, if larger: a loop may
	// write a byte per iteration up to the output limit). The default
	// description over 10,000 alerts takes about 10,000 steps.
	maxTemplateSteps = 1 << 20
	// maxRenderTime bounds the rendering of one text: a title, or a
	// description with its re-renders to fit the limit.
	maxRenderTime = 10 * time.Second
	// maxTemplateDepth bounds how deeply template calls nest (the
	// executed template itself is the first level).
	maxTemplateDepth = 1000
	// clockEvery is how many writes pass between two reads of the clock.
	clockEvery = 64
)

// errOutputLimit stops a template execution at the output limit.
var errOutputLimit = errors.New("template output limit reached")

// errTemplateLimit is wrapped by the errors of the step, depth and time
// limits.
var errTemplateLimit = errors.New("template execution limit")

// templateRoot is Alertmanager's template set (its functions and default
// named templates), instrumented, that user templates are parsed into.
type templateRoot struct {
	t *tmpltext.Template
	// enter and leave are the texts of the empty text nodes starting and
	// ending every template body, told apart from other empty writes by
	// their backing arrays.
	enter, leave []byte
}

// newTemplateRoot loads Alertmanager's template engine with its default
// templates (compiled into the binary: no file is read).
func newTemplateRoot() (*templateRoot, error) {
	// The engine keeps its text template private; an Option sees it while
	// the engine is built, and it stays the same object afterwards (Parse
	// returns its receiver). Executing it directly lets us bound the output.
	var text *tmpltext.Template
	capture := func(t *tmpltext.Template, _ *tmplhtml.Template) { text = t }
	if _, err := template.FromGlobs(nil, capture); err != nil {
		return nil, fmt.Errorf("load alertmanager default templates: %w", err)
	}
	if text == nil || text.Lookup("__subject") == nil {
		return nil, errors.New("load alertmanager default templates: the text templates are missing")
	}
	r := &templateRoot{t: text, enter: make([]byte, 0, 1), leave: make([]byte, 0, 1)}
	// The engine built these trees for this call only: they are changed in
	// place.
	for _, t := range text.Templates() {
		r.instrument(t.Tree)
	}
	return r, nil
}

// compiledTemplate is a user template parsed into a copy of Alertmanager's
// set, instrumented for the step and depth limits. Executions may run in
// parallel.
type compiledTemplate struct {
	name string
	t    *tmpltext.Template
	// steps and renderTime are the limits of its executions
	// (maxTemplateSteps and maxRenderTime; tests lower them).
	steps        int
	renderTime   time.Duration
	enter, leave *byte // the root's markers
}

// parse parses text as a new template named name in a copy of the set and
// instruments the templates it defines.
func (r *templateRoot) parse(name, text string) (*compiledTemplate, error) {
	set, err := r.t.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone alertmanager templates: %w", err)
	}
	t, err := set.New(name).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	// The clone shares the root's (instrumented) trees; the text's own
	// templates, and those it redefines, have new ones.
	for _, t := range set.Templates() {
		if old := r.t.Lookup(t.Name()); old == nil || old.Tree != t.Tree {
			r.instrument(t.Tree)
		}
	}
	return &compiledTemplate{name: name, t: t, steps: maxTemplateSteps, renderTime: maxRenderTime,
		enter: &r.enter[:1][0], leave: &r.leave[:1][0]}, nil
}

// instrument makes the body of a template start and end with the enter and
// leave markers, and every range body in it start with an empty text node.
func (r *templateRoot) instrument(tree *parse.Tree) {
	if tree == nil || tree.Root == nil {
		return
	}
	root := tree.Root
	instrumentList(root)
	root.Nodes = append(append([]parse.Node{emptyText(root.Pos, r.enter)}, root.Nodes...),
		emptyText(root.Pos, r.leave))
}

// instrumentList makes every range body under list start with an empty text
// node: text/template writes every text node, so each iteration writes.
func instrumentList(list *parse.ListNode) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.WithNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.RangeNode:
			if n.List == nil {
				n.List = &parse.ListNode{NodeType: parse.NodeList, Pos: n.Pos}
			}
			instrumentList(n.List)
			instrumentList(n.ElseList)
			n.List.Nodes = append([]parse.Node{emptyText(n.Pos, nil)}, n.List.Nodes...)
		}
	}
}

func emptyText(pos parse.Pos, text []byte) *parse.TextNode {
	return &parse.TextNode{NodeType: parse.NodeText, Pos: pos, Text: text}
}

// limits are the bounds of one execution.
type limits struct {
	output     int // bytes written
	steps      int
	renderTime time.Duration
	deadline   time.Time // the start plus renderTime
}

// limits returns the limits of the executions rendering one text whose
// output may reach output bytes. The deadline is shared by the executions.
func (c *compiledTemplate) limits(output int) limits {
	return limits{output: output, steps: max(c.steps, output),
		renderTime: c.renderTime, deadline: time.Now().Add(c.renderTime)}
}

// budget is one execution's output buffer and what it has used of its
// limits.
type budget struct {
	limits
	enter, leave *byte // the compiledTemplate's markers
	out          []byte
	overflow     bool
	writes       int
	steps        int
	depth        int
	err          error // the limit hit, if any
}

// Write collects output up to the output limit, then fails. An empty
// write is a step.
func (b *budget) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.writes++
	if b.writes%clockEvery == 0 && !time.Now().Before(b.deadline) {
		return 0, b.fail(fmt.Errorf("%w: rendering took longer than %v", errTemplateLimit, b.renderTime))
	}
	if len(p) == 0 {
		if cap(p) > 0 {
			switch &p[:1][0] {
			case b.enter:
				b.depth++
				if b.depth > maxTemplateDepth {
					return 0, b.fail(fmt.Errorf("%w: template calls nested deeper than %d", errTemplateLimit, maxTemplateDepth))
				}
			case b.leave:
				b.depth--
			}
		}
		b.steps++
		if b.steps > b.limits.steps {
			return 0, b.fail(fmt.Errorf("%w: more than %d loop iterations and template calls", errTemplateLimit, b.limits.steps))
		}
		return 0, nil
	}
	if room := b.output - len(b.out); len(p) > room {
		b.out = append(b.out, p[:max(room, 0)]...)
		b.overflow = true
		return max(room, 0), errOutputLimit
	}
	b.out = append(b.out, p...)
	return len(p), nil
}

func (b *budget) fail(err error) error {
	b.err = err
	return err
}

// execute runs c under l and returns its output as valid UTF-8 without
// NULs (each invalid byte and NUL replaced by U+FFFD). overflow reports
// that the output reached the output limit and was stopped there; out then
// holds the prefix. A step, depth or time limit (an error wrapping
// errTemplateLimit), a template error and a panic are errors.
func (c *compiledTemplate) execute(data any, l limits) (out string, overflow bool, err error) {
	b := &budget{limits: l, enter: c.enter, leave: c.leave}
	defer func() {
		if r := recover(); r != nil {
			out, overflow, err = "", false, fmt.Errorf("template %s: panic: %v", c.name, r)
		}
	}()
	err = c.t.Execute(b, data)
	if b.err != nil {
		return "", false, fmt.Errorf("template %s: %w", c.name, b.err)
	}
	if err != nil && !b.overflow {
		return "", false, err
	}
	s := string(b.out)
	if b.overflow {
		s = trimPartialRune(s)
	}
	// Tickets carry text: valid UTF-8, no NUL (which many systems take
	// for the end of a string).
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s, b.overflow, nil
}
