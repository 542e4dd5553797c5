package mapping

import (
	"errors"
	"fmt"
	tmplhtml "html/template"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	tmpltext "text/template"
	"text/template/parse"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// Limits of one template execution. Templates come from the operator's
// configuration and the data they run on from Alertmanager: a template with
// a mistake (a loop over the alerts inside a loop over the alerts, a
// recursive named template, a string doubled in a loop) must end with an
// error, not take the process's memory or a delivery worker forever.
// text/template cannot be cancelled from outside, so the limits are checked
// from inside the execution, on the goroutine that runs it: nothing is left
// running after execute returns.
//
//   - Output: what the template writes stops at the output limit (at least
//     minOutputLimit); the text is then cut like any long text. This is not
//     an error.
//   - Steps: every loop iteration ({{range}}, also over an integer) and every
//     named template call ({{template}}, {{block}}) is a step; more than
//     maxTemplateSteps stop the execution with an error. The trees are
//     instrumented when parsed: an empty text node starts every range body,
//     and two more start and end every template body. text/template writes
//     every text node, so each iteration and each call writes to the
//     output buffer, which counts empty writes as steps. (Printing an empty
//     value also writes nothing and counts as a step.)
//   - Depth: the markers starting and ending template bodies also count how
//     deeply template calls nest; deeper than maxTemplateDepth stops the
//     execution with an error. (text/template's own bound, 100,000 calls,
//     takes over 100 MB of stack to reach.)
//   - Function text: every function that builds text (Alertmanager's
//     functions, and print, printf, println, html, js and urlquery) is
//     replaced by a wrapper bound to the execution. The text passed to and
//     returned by the calls is counted; more than maxFuncBytes stop the
//     execution with an error. This bounds the memory a template can build
//     in variables (a string doubled in a loop), which never reaches the
//     output. So that one call cannot allocate far more than is left, a
//     call is refused beforehand when an upper bound of its result does
//     not fit: join's exact length, reReplaceAll's from the shortest match
//     of its pattern and the references of its replacement, printf's from
//     its format's verbs, widths and precisions, and maxGrowth times the
//     text arguments for the others. Values that are not text (the labels,
//     the alerts, the whole data) are not measured before a call: printing
//     them costs memory linear in the size of the notification per value
//     printed, charged once printed.
//   - Time: the wall clock is read at every call of a metered function and
//     every 64th write (each step writes); once the text's render time
//     (maxRenderTime) is over, the execution stops with an error. Between
//     two writes a template runs at most the actions of one loop body or
//     template body once, each a field or method of the data or a built-in
//     function that builds no text (and, or, not, eq, index, slice, len,
//     ...), whose cost is about linear in the size of the notification.
//     So the overrun past the deadline is bounded by 64 times the
//     template's size times one pass over the notification: milliseconds
//     for any sane template, not a guarantee of a hard real-time stop.
//   - Panics: a panic in a function or a method of the data is an execution
//     error (text/template recovers it); any other panic during the
//     execution is recovered by execute and returned as an error.
//
// The step, depth and function-text limits do not depend on the machine:
// a template that hits one fails the same way on every delivery attempt.
// The time limit is the backstop for what they do not count (methods of
// the data called in a loop over a large notification). Either way Map
// returns the error, and the bridge dead-letters the ticket with it as the
// reason, to be replayed once the template is fixed.
const (
	// minOutputLimit bounds what one template execution may write.
	minOutputLimit = 1 << 20
	// maxTemplateSteps bounds the loop iterations and template calls of
	// one execution (or the output limit in bytes, if larger: a loop may
	// write a byte per iteration up to the output limit). The default
	// description over 10,000 alerts takes about 10,000 steps; a loop over
	// each alert's labels about 20 more per alert. An empty step costs
	// about 0.1 µs.
	maxTemplateSteps = 1 << 20
	// maxFuncBytes bounds the text passed to and returned by functions in
	// one execution: 32 MiB, several times a whole notification.
	maxFuncBytes = 32 << 20
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

// errTemplateLimit is wrapped by the errors of the step, depth,
// function-text and time limits.
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
// set, instrumented for the step and depth limits. It is never executed
// itself: an execution takes an instance from the pool.
type compiledTemplate struct {
	name string
	set  *tmpltext.Template
	// steps, funcText and renderTime are the limits of its executions
	// (maxTemplateSteps, maxFuncBytes and maxRenderTime; tests lower them).
	steps, funcText int
	renderTime      time.Duration
	enter, leave    []byte    // the root's markers
	pool            sync.Pool // of *templateInstance
}

// templateInstance is a clone of a compiledTemplate's set whose functions
// are metered by its own budget; one execution uses it at a time.
type templateInstance struct {
	t      *tmpltext.Template
	budget *budget
}

// parse parses text as a new template named name in a copy of the set and
// instruments the templates it defines.
func (r *templateRoot) parse(name, text string) (*compiledTemplate, error) {
	set, err := r.t.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone alertmanager templates: %w", err)
	}
	if _, err := set.New(name).Option("missingkey=zero").Parse(text); err != nil {
		return nil, err
	}
	// The clone shares the root's (instrumented) trees; the text's own
	// templates, and those it redefines, have new ones.
	for _, t := range set.Templates() {
		if old := r.t.Lookup(t.Name()); old == nil || old.Tree != t.Tree {
			r.instrument(t.Tree)
		}
	}
	return &compiledTemplate{name: name, set: set, steps: maxTemplateSteps, funcText: maxFuncBytes,
		renderTime: maxRenderTime, enter: r.enter, leave: r.leave}, nil
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

// instance returns an instance of c for one execution.
func (c *compiledTemplate) instance() (*templateInstance, error) {
	if inst, ok := c.pool.Get().(*templateInstance); ok {
		return inst, nil
	}
	set, err := c.set.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone template %s: %w", c.name, err)
	}
	b := &budget{enter: &c.enter[:1][0], leave: &c.leave[:1][0]}
	set.Funcs(b.funcs())
	t := set.Lookup(c.name)
	if t == nil {
		return nil, fmt.Errorf("template %s is missing from its set", c.name)
	}
	return &templateInstance{t: t, budget: b}, nil
}

// limits are the bounds of one execution.
type limits struct {
	output     int // bytes written
	steps      int
	funcText   int // bytes passed to and returned by functions
	renderTime time.Duration
	deadline   time.Time // the start plus renderTime
}

// limits returns the limits of the executions rendering one text whose
// output may reach output bytes. The deadline is shared by the executions.
func (c *compiledTemplate) limits(output int) limits {
	return limits{output: output, steps: max(c.steps, output), funcText: c.funcText,
		renderTime: c.renderTime, deadline: time.Now().Add(c.renderTime)}
}

// budget is one execution's output buffer and what it has used of its
// limits. It is used by the executing goroutine only.
type budget struct {
	limits
	enter, leave *byte // the compiledTemplate's markers
	out          []byte
	overflow     bool
	writes       int
	steps        int
	depth        int
	funcText     int
	err          error // the limit hit, if any
}

func (b *budget) reset(l limits) {
	*b = budget{limits: l, enter: b.enter, leave: b.leave, out: b.out[:0]}
}

// Write collects output up to the output limit, then fails. An empty
// write is a step.
func (b *budget) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.writes++
	if b.writes%clockEvery == 0 {
		if err := b.checkTime(); err != nil {
			return 0, err
		}
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

// charge counts n bytes of function text and checks the clock.
func (b *budget) charge(n int) error {
	if b.err != nil {
		return b.err
	}
	b.funcText += n
	if b.funcText > b.limits.funcText {
		return b.fail(fmt.Errorf("%w: functions handled more than %d bytes of text", errTemplateLimit, b.limits.funcText))
	}
	return b.checkTime()
}

// reserve fails unless n more bytes of function text fit. Nothing is
// charged: the call's actual result is.
func (b *budget) reserve(n int) error {
	if b.err != nil {
		return b.err
	}
	if n > b.limits.funcText-b.funcText {
		return b.fail(fmt.Errorf("%w: functions handled more than %d bytes of text (with the up to %d bytes a call would return)", errTemplateLimit, b.limits.funcText, n))
	}
	return nil
}

func (b *budget) checkTime() error {
	if !time.Now().Before(b.deadline) {
		return b.fail(fmt.Errorf("%w: rendering took longer than %v", errTemplateLimit, b.renderTime))
	}
	return nil
}

func (b *budget) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

// funcs returns the metered functions of an instance: every function that
// builds text.
func (b *budget) funcs() tmpltext.FuncMap {
	fm := tmpltext.FuncMap{
		// The built-in functions that build text (a function of the set
		// takes precedence over a built-in one of the same name).
		"print":    b.metered(fmt.Sprint, nil),
		"printf":   b.metered(fmt.Sprintf, printfBound),
		"println":  b.metered(fmt.Sprintln, nil),
		"html":     b.metered(tmpltext.HTMLEscaper, nil),
		"js":       b.metered(tmpltext.JSEscaper, nil),
		"urlquery": b.metered(tmpltext.URLQueryEscaper, nil),
	}
	for name, fn := range template.DefaultFuncs {
		fm[name] = b.metered(fn, nil)
	}
	fm["join"] = b.metered(template.DefaultFuncs["join"], joinBound)
	// Alertmanager's reReplaceAll, with the pattern compiled once for the
	// bound and the call.
	fm["reReplaceAll"] = b.metered(func(pattern, repl, text string) string {
		re := regexp.MustCompile(pattern)
		if err := b.reserve(replaceBound(re, pattern, repl, text)); err != nil {
			panic(err)
		}
		return re.ReplaceAllString(text, repl)
	}, nil)
	return fm
}

// maxGrowth bounds how much longer than its text arguments the result of a
// function without a bound of its own can be (html escapes a byte to at
// most 5, js to 6); each argument may add 64 bytes more (a number, the
// spaces println adds).
const maxGrowth = 6

// metered wraps fn. Before the call, the text of its arguments is charged
// and an upper bound of its result (bound, else from maxGrowth) must fit in
// what is left; after the call its result is charged. Over a limit the
// wrapper panics with the limit's error, which text/template returns as
// the execution's error.
func (b *budget) metered(fn any, bound func(args []reflect.Value) int) any {
	v := reflect.ValueOf(fn)
	typ := v.Type()
	return reflect.MakeFunc(typ, func(args []reflect.Value) []reflect.Value {
		text, values := 0, len(args)
		for _, a := range args {
			text += textSize(a)
		}
		if typ.IsVariadic() {
			values += args[len(args)-1].Len()
		}
		if err := b.charge(text); err != nil {
			panic(err)
		}
		limit := saturate(maxGrowth*text, 64*values)
		if bound != nil {
			limit = bound(args)
		}
		if err := b.reserve(limit); err != nil {
			panic(err)
		}
		var out []reflect.Value
		if typ.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		n := 0
		for _, r := range out {
			n += textSize(r)
		}
		if err := b.charge(n); err != nil {
			panic(err)
		}
		return out
	}).Interface()
}

// joinBound is the length of join's result: the strings and the
// separators between them.
func joinBound(args []reflect.Value) int {
	sep, list := args[0].Len(), args[1]
	n := textSize(list)
	if list.Len() > 1 {
		n += (list.Len() - 1) * sep
	}
	return n
}

// replaceBound is an upper bound of the length of
// re.ReplaceAllString(text, repl). Matches do not overlap, so the groups
// the replacement refers to add up to at most len(text) per reference; the
// replacement's literal text is added once per match, and there are at
// most len(text)/m + 1 matches, m being the shortest match's length.
func replaceBound(re *regexp.Regexp, pattern, repl, text string) int {
	// The replacement's length with every group empty is its literal
	// part; with every group one byte long, that plus its references.
	groups := 2 * (re.NumSubexp() + 1)
	zero, one := make([]int, groups), make([]int, groups)
	for i := 1; i < groups; i += 2 {
		one[i] = 1
	}
	literal := len(re.ExpandString(nil, repl, "", zero))
	refs := len(re.ExpandString(nil, repl, "x", one)) - literal
	matches := len(text) + 1
	if p, err := syntax.Parse(pattern, syntax.Perl); err == nil {
		if m := minMatch(p); m > 0 {
			matches = len(text)/m + 1
		}
	}
	return saturate(len(text)*(1+refs), matches*literal)
}

// minMatch is the fewest bytes a match of re takes.
func minMatch(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) // at least a byte per rune, whatever the case
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpNoMatch:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minMatch(re.Sub[0])
	case syntax.OpRepeat:
		return min(re.Min*minMatch(re.Sub[0]), 1<<20)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(n+minMatch(s), 1<<20)
		}
		return n
	case syntax.OpAlternate:
		n := 1 << 20
		for _, s := range re.Sub {
			n = min(n, minMatch(s))
		}
		return n
	}
	return 0 // empty-width assertions, star, quest, empty match
}

// maxFmtWidth is fmt's bound on a width or precision.
const maxFmtWidth = 1e6

// printfBound is an upper bound of the length of printf's result, for
// text arguments: the format, plus for each verb its width and precision
// (a '*' counts as fmt's largest, 1e6), five times the longest text an
// argument holds ("%# x" writes "0xff " for a byte; %q at most four
// bytes), four bytes per element of the longest slice argument (brackets,
// quotes and spaces) and 64 bytes (a number); plus all the arguments once
// more, as fmt lists unused ones after the format (%!(EXTRA ...)). Which
// argument a verb prints is not worked out: any of them may be.
func printfBound(args []reflect.Value) int {
	format := args[0].String()
	rest := args[1]
	longest, elems := 0, 0
	for i := range rest.Len() {
		a := rest.Index(i)
		longest = max(longest, textSize(a))
		if a.Kind() == reflect.Interface && !a.IsNil() && a.Elem().Kind() == reflect.Slice {
			elems = max(elems, a.Elem().Len())
		}
	}
	perVerb := saturate(5*longest, 4*elems+64)
	n := saturate(len(format), saturate(5*textSize(rest), (64+4*elems)*rest.Len()))
	number := func(i int) (int, int) {
		if i < len(format) && format[i] == '*' {
			return maxFmtWidth, i + 1
		}
		j := i
		for j < len(format) && '0' <= format[j] && format[j] <= '9' {
			j++
		}
		w, _ := strconv.Atoi(format[i:j])
		return min(w, maxFmtWidth), j
	}
	index := func(i int) int {
		if i < len(format) && format[i] == '[' {
			if j := strings.IndexByte(format[i:], ']'); j >= 0 {
				return i + j + 1
			}
		}
		return i
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		var width, prec int
		width, i = number(index(i))
		if i < len(format) && format[i] == '.' {
			prec, i = number(index(i + 1))
		}
		i = index(i)
		if i < len(format) && format[i] == '%' {
			continue
		}
		n = saturate(n, saturate(width+prec, perVerb))
	}
	return n
}

// saturate adds without overflowing.
func saturate(a, b int) int {
	if a > maxInt-b {
		return maxInt
	}
	return a + b
}

const maxInt = int(^uint(0) >> 1)

// textSize is the length of the text in v: a string (or a type based on
// one), the strings in a slice or in interface values, two levels deep.
func textSize(v reflect.Value) int { return textSizeIn(v, 2) }

func textSizeIn(v reflect.Value, depth int) int {
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Interface:
		if !v.IsNil() {
			return textSizeIn(v.Elem(), depth)
		}
	case reflect.Slice:
		if depth == 0 {
			return 0
		}
		switch v.Type().Elem().Kind() {
		case reflect.String, reflect.Interface, reflect.Slice:
			n := 0
			for i := range v.Len() {
				n = saturate(n, textSizeIn(v.Index(i), depth-1))
			}
			return n
		}
	}
	return 0
}

// execute runs c under l and returns its output as valid UTF-8 without
// NULs (each invalid byte and NUL replaced by U+FFFD). overflow reports
// that the output reached the output limit and was stopped there; out then
// holds the prefix. A step,
// function-text or time limit (an error wrapping errTemplateLimit), a
// template error and a panic are errors.
func (c *compiledTemplate) execute(data any, l limits) (out string, overflow bool, err error) {
	inst, err := c.instance()
	if err != nil {
		return "", false, err
	}
	b := inst.budget
	b.reset(l)
	defer func() {
		if r := recover(); r != nil {
			out, overflow, err = "", false, fmt.Errorf("template %s: panic: %v", c.name, r)
		}
		if cap(b.out) <= 2*minOutputLimit {
			c.pool.Put(inst) // an instance with a larger buffer is dropped
		}
	}()
	err = inst.t.Execute(b, data)
	if b.err != nil {
		// A limit hit in a function comes with the position of the call;
		// one hit by a write comes alone.
		if err == b.err || !errors.Is(err, errTemplateLimit) {
			err = fmt.Errorf("template %s: %w", c.name, b.err)
		}
		return "", false, err
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
