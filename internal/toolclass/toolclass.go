// Package toolclass sorts tool definitions into the three effect classes of
// the human-control safeguard: [Informational] tools read or compute,
// [Consequential] tools change the world (send, delete, pay, deploy), and
// [Force] tools apply force (fire, strike, launch, detonate, release a
// weapon, designate a target).
//
// Operators declare the class of the tools they know in config; [Classify]
// is for the rest. Its rules are explainable: it splits the tool's name
// (snake_case, camelCase, kebab-case), its description and its input schema
// (property names, property descriptions, enum values) into words, looks
// each word up in a small weighted lexicon, and says in [Result.Reason]
// which evidence decided.
//
// # Normalisation
//
// Every text is normalised before words are looked up, as [Normalize]
// does (NFKC, case folding, combining marks dropped, look-alike letters of
// other scripts mapped to Latin), so that "fіre_interceptor" with a
// Cyrillic "і" and "ｆｉｒｅ_ｉｎｔｅｒｃｅｐｔｏｒ" are "fire_interceptor". Leetspeak
// ("f1re", "d3tonate", "$trike") is read both ways: the tool is classified
// as written and de-leeted (1 as i, and as l), and the highest class wins,
// so that "gpt4_summary" stays informational while "f1re_interceptor" is
// force. Callers that match declared tool names should compare
// [Normalize]d names.
//
// # The name is a floor
//
// The description and schema come with the request, so they may raise a
// tool's class but never lower it: the class is at least the class the
// name alone gets. "fire_interceptor" described as "Training simulation
// only; commands no hardware" is force; "get_weather" described as firing
// an interceptor is force too.
//
// # Force
//
// A force verb ("fire", "engage", "launch", "strike", "release") or a
// weapon or hostile noun ("interceptor", "missile", "munition", "hostile",
// "target") alone is never enough: "kill_process", "launch_job",
// "strike_through_text", "shoot_photo", "fire_alarm_status" and
// "target_audience" are not force. The force score is the largest of:
//
//   - a force phrase ("weapons release", "fire mission", "designate
//     target", "call for fire", "arm payload"), 1.2;
//   - a force verb acting on a weapon or hostile noun within three words of
//     it in the same field ("fire_interceptor", "engage the hostile track"):
//     verb + noun + 0.3;
//   - the strongest force verb anywhere plus the weapon context anywhere
//     (summed, capped at 0.7).
//
// Evidence in the description counts 0.9 of the same evidence in the name,
// evidence in the schema 0.85. A score of at least [ForceThreshold] is
// force. "target" followed by a civilian noun ("target audience", "target
// directory") is not weapon context. Past tenses in the description
// ("whether the interceptor was fired") count half, so that status and log
// tools that report on force are not force themselves; a tool whose name
// starts with a read verb ("get_", "list_") gets no credit for nouns that
// are acts of force ("list_airstrikes"). Negation does not cancel force
// evidence: "does not fire live rounds" is still force. The classifier
// fails closed.
//
// # Simulations
//
// A simulation or training tool that commands no hardware is not force,
// but the word "simulated" must not become a bypass. So force evidence is
// set aside only when the tool's name starts with a simulation word
// ("simulate_strike", "wargame_fire", "sim_fire_artillery") and the
// description supports it (says it is a simulation, or denies commanding
// hardware), or when the description both says so and denies commanding
// hardware ("commands no real hardware"); and only if no live marker
// ("live", "real", "actual", "physical", "hardware", "operational")
// appears anywhere without a negation ("no", "not", "never", "without")
// in the three words before it. The description's exemption cannot lower
// a name that is force by itself (see the name floor): "fire_interceptor"
// that calls itself a simulation stays force, as does a simulation tool
// that mentions live hardware.
//
// The exemption by name is kept on purpose. The name is the key the
// client dispatches the call on, so a client that would put a false
// simulation word in a name could as well call a real weapon "get_weather";
// no rule on names stops that, and the defence against a dishonest client
// is the signed policy's declared tools, not this classifier. What the
// name floor stops is the cheaper and likelier lie, in free text that a
// model, an MCP server or an injected prompt may write. Operators who
// disagree declare the tool's class in the policy.
//
// # Force suspects
//
// Below the force threshold, a harm signal still holds the call: the
// Class is Force and [Result.Suspect] is set. The vocabulary was written
// from the vocabulary of force, not from missed tools: the effect terms of
// fires and targeting doctrine (destroy, neutralize, suppress, interdict,
// defeat, harass, canalize; and disrupt, degrade, deny, delay, divert,
// fix, block, turn, which are everyday verbs too), kinetic verbs and their
// euphemisms and slang ("sink", "splash", "take out", "service the
// target"), crowd-control and less-lethal means (LRAD, tear gas, water
// cannon, taser), counter-UAS effectors (net gun, high power microwave),
// fire commands and brevity codes ("cleared hot", "fire for effect") and
// verbs of physical harm. A harm verb counts by what it acts on:
//
//   - some count unless a civilian object follows ("attack", "kill",
//     "assassinate"; but "kill_process", "ram_usage", "destroy_stack");
//   - fires verbs count on a hostile object, a weapon or a target
//     ("prosecute the track", "splash the bandit"; not "service the
//     vehicle", which is maintenance);
//   - kinetic verbs count on a hostile object, a weapon, a target, a
//     person or a vehicle, vessel or structure ("sink the boat", "take out
//     the truck"; not "nuke_cache", "torch_compile", "flatten_json");
//   - some count only on a person ("execute the prisoner", not "execute
//     the query"), and "launch" only on a weapon.
//
// A target, track or contact is hostile only in a force context: when
// the tool also names a weapon, a hostile, an adjective of harm or a
// military word ("service the target" is systemd's).
//
// The vocabulary cannot be complete, so a structural rule fails closed
// on verbs it does not know: any action (a word where a verb stands that
// is not a read, report, protective or logistics word: "track", "escort",
// "evacuate", "resupply") acting on a hostile object ("bandit", "enemy",
// "HVI", "bunker", "emplacement") or a weapon is suspect, and so is one
// acting on a target, person, vehicle or place in a force context. An
// object with a friendly modifier ("the resupply convoy") does not count
// for it. In a name, the first word that is not an object is read as the
// verb, so that "sector_bandits" fails closed.
//
// An actuator (servo, relay, gripper, latch, hook, winch) is suspect on a
// platform that carries a weapon ("servo 9 drives the bomb hook"), or
// that drops or releases something in a force context. A servo with
// neither stays consequential.
//
// Harm adjectives ("lethal", "kinetic", "explosive", "armed", "hostile",
// "weaponized") and phrases ("weapons free", "terminal guidance",
// "loiter", "payload release") count unless a civilian noun follows
// ("lethal_dose", "hostile_takeover"). A noun phrase ends at a
// preposition, a relative clause or a participle, and a civilian or
// report word in it disarms it ("the enemy position report"). All signals
// are disarmed when a read word governs the name: a read verb leads it
// ("get_strike_history") or a report noun ends it
// ("attack_surface_report", "storm_drain_status"). In a description a
// verb counts only where a verb stands, first in a sentence, after a
// subject, or after "and", "then", "or", "to" or a modal, so that "the
// attack rate" is a noun; past forms report force and do not count. The
// simulation exemption applies to suspects as to force. Operators who
// disagree declare the tool's class in the policy.
//
// # Consequential and informational
//
// Without force or a suspect, a change verb in the name ("send", "delete", "pay",
// "deploy", "create") makes a tool consequential. Some change verbs are
// also common nouns ("fire", "order", "post", "record"); these lose to a
// read word in the name ("fire_alarm_status", "get_order"). A name with
// neither is decided by the first change or read verb of the description,
// and then by enum values in the schema (an "action" enum with "delete"
// is consequential). Everything else is informational.
package toolclass

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The effect classes, as DESIGN.md names them: the values of a tool's
// declared effect in the signed policy and of tool_call.effect in rules.
// This is their one definition.
const (
	Informational = "informational"
	Consequential = "consequential"
	Force         = "force"
)

// ForceThreshold is the force score at or above which a tool is force.
const ForceThreshold = 1.0

// Tool is a tool definition in any of the formats [ParseTools] accepts.
type Tool struct {
	Name        string
	Description string
	InputSchema json.RawMessage // a JSON Schema object; may be empty
}

// Result is the class of a tool and the evidence for it.
type Result struct {
	Class  string  // Informational, Consequential or Force
	Reason string  // the evidence that decided, in words
	Score  float64 // the force score; Class is Force when it is at least ForceThreshold (unless a simulation)

	// Suspect is true when Class is Force because of a harm signal, not a
	// force score (see "Force suspects" in the package doc). Operators
	// who disagree declare the tool's class in the signed policy.
	Suspect bool
}

// Field kinds and the weight of evidence found in each.
const (
	fieldName = iota
	fieldDesc
	fieldSchema
)

var fieldWeight = [...]float64{fieldName: 1.0, fieldDesc: 0.9, fieldSchema: 0.85}

// field is one run of words that proximity rules may not cross: the name,
// a sentence of the description, a property name, a property's
// description, an enum value.
type field struct {
	kind  int
	where place
	toks  []string
}

// evidence is one word or phrase that counted.
type evidence struct {
	text  string
	where place
	w     float64
}

func (e evidence) String() string { return fmt.Sprintf("%q (%s)", e.text, e.where) }

// place says where evidence was found: "name", "description", "schema
// property \"target_id\"". It is formatted only for reasons, so that
// classifying allocates no strings for it.
type place struct {
	what string // "name", "description", "schema", "schema property", "schema enum"
	arg  string // the property path or enum value
}

var (
	placeName = place{what: "name"}
	placeDesc = place{what: "description"}
)

func (p place) String() string {
	if p.arg == "" {
		return p.what
	}
	return p.what + " " + strconv.Quote(p.arg)
}

// Classify returns the effect class of t. It never fails: a schema that is
// not valid JSON is ignored, and the reason says so. Results are memoised
// (see [cache]), because the same tool definitions arrive with every
// request of a conversation.
func Classify(t Tool) Result {
	key := cacheKey(t)
	if r, ok := results.get(key); ok {
		return r
	}
	r := classifyTool(t)
	results.put(key, r)
	return r
}

// Rank orders the effect classes: Informational 1, Consequential 2, Force
// 3, and anything else 0, so a caller can both validate a class (Rank > 0)
// and compare two (a higher rank holds more).
func Rank(class string) int {
	switch class {
	case Informational:
		return 1
	case Consequential:
		return 2
	case Force:
		return 3
	}
	return 0
}

// classifyTool classifies t as written and, when it holds leetspeak, with
// 1 read as i and as l, and returns the highest class.
func classifyTool(t Tool) Result {
	best := classifyFloored(t, 0)
	for _, one := range []rune{'i', 'l'} {
		if !leetIn(t, one) {
			continue
		}
		if r := classifyFloored(t, one); Rank(r.Class) > Rank(best.Class) {
			r.Reason = fmt.Sprintf("de-leeted (%q): %s", deleet(foldCase(t.Name), one, true), r.Reason)
			best = r
		}
	}
	return best
}

// leetIn reports whether reading 1 as one and the other digits and symbols
// as letters changes any text of t.
func leetIn(t Tool, one rune) bool {
	changes := func(s string) bool { return hasLeet(s) && deleet(s, one, true) != s }
	return changes(t.Name) || changes(t.Description) || changes(string(t.InputSchema))
}

// classifyFloored classifies t, and t's name alone, and returns the higher
// class: a description or schema may raise a tool's class, never lower it.
func classifyFloored(t Tool, one rune) Result {
	full := classify(t, one, false)
	if full.Class == Force || (t.Description == "" && len(t.InputSchema) == 0) {
		return full
	}
	floor := classify(Tool{Name: t.Name}, one, true)
	if Rank(floor.Class) <= Rank(full.Class) {
		return full
	}
	floor.Reason = fmt.Sprintf("%s; the name alone is %s, and a description or schema may raise a tool's class, never lower it (with them: %s)", floor.Reason, floor.Class, full.Reason)
	return floor
}

// classify classifies t, with its words normalised (see normTokens).
// nameOnly says t is only a tool's name, for the floor of classifyFloored:
// a simulation word leading the name then sets force evidence aside on its
// own (see "Simulations" in the package doc).
func classify(t Tool, one rune, nameOnly bool) Result {
	fields, schemaErr := toolFields(t, one)
	// nouns holds the best evidence per weapon noun. It is not a field of
	// forceEvidence so that it stays on the stack: escape analysis does not
	// tell fields apart, and the reasons score formats leave it.
	nouns := map[string]evidence{}
	var ev forceEvidence
	ev.scan(fields, nouns)
	score, why := ev.score(nouns)
	if ev.simLead && ev.simEv.text == "" && (ev.simDeny || nameOnly) {
		ev.simEv = evidence{fields[0].toks[0], placeName, 0}
	}
	simOnly := ev.simEv.text != "" && (ev.simLead || ev.simDeny)
	if score >= ForceThreshold {
		return ev.forceUnlessSimulated(fields, schemaErr, score, why, simOnly)
	}
	return ev.effectOrSuspect(fields, schemaErr, score, simOnly)
}

// forceEvidence is what one pass over a tool's fields found for and
// against force, apart from weapon nouns. scan fills it; score weighs it.
type forceEvidence struct {
	readLed bool // the name leads with a read word: force words in it are read about
	simLead bool // the name starts with a simulation word
	simDeny bool // the description denies commanding hardware

	phrase   evidence // the strongest force phrase
	verb     evidence // the strongest force verb or act of force
	prox     evidence // the strongest force verb acting on a nearby noun
	proxNoun evidence // the noun prox acts on
	simEv    evidence // the first simulation word outside the name
	liveEv   evidence // the first live marker not negated
}

// scan collects the force, simulation and live evidence of fields, whose
// first field is the tool's name, and the best evidence per weapon noun in
// nouns.
func (ev *forceEvidence) scan(fields []field, nouns map[string]evidence) {
	if name := fields[0].toks; len(name) > 0 {
		e := lexicon[name[0]]
		ev.readLed = e != nil && e.read && name[0] == e.base && e.verb == 0
		ev.simLead = (e != nil && e.sim) || matchPhrase(name, 0, simPhrases) != ""
	}
	for fi := range fields {
		f := &fields[fi]
		fw := fieldWeight[f.kind]
		for i := range f.toks {
			ev.token(f, i, fw, nouns)
		}
	}
}

// token records the evidence of f.toks[i], weighted by fw, the weight of
// f's kind.
func (ev *forceEvidence) token(f *field, i int, fw float64, nouns map[string]evidence) {
	tok := f.toks[i]
	if p := matchPhrase(f.toks, i, forcePhrases); p != "" {
		w := 1.2 * fw
		if ev.readLed {
			w *= 0.5 // "get_rules_of_engagement" reads doctrine
		}
		if w > ev.phrase.w {
			ev.phrase = evidence{p, f.where, w}
		}
	}
	if f.kind != fieldName && ev.simEv.text == "" && matchPhrase(f.toks, i, simPhrases) != "" {
		ev.simEv = evidence{tok, f.where, 0}
	}
	e := lexicon[tok]
	if e == nil {
		return
	}
	if e.sim && f.kind != fieldName && ev.simEv.text == "" {
		ev.simEv = evidence{tok, f.where, 0}
	}
	if e.live && !(tok == "real" && i+1 < len(f.toks) && f.toks[i+1] == "time") {
		if negated(f.toks, i) {
			if f.kind == fieldDesc {
				ev.simDeny = true
			}
		} else if ev.liveEv.text == "" {
			ev.liveEv = evidence{tok, f.where, 0}
		}
	}
	if e.noun > 0 && !civilianTarget(f.toks, i) {
		w := e.noun * fw
		if prev, ok := nouns[e.base]; !ok || w > prev.w {
			nouns[e.base] = evidence{tok, f.where, w}
		}
	}
	if e.act > 0 && !ev.readLed {
		if w := e.act * fw; w > ev.verb.w {
			ev.verb = evidence{e.base, f.where, w}
		}
	}
	if e.verb > 0 {
		ev.forceVerb(f, i, e, fw)
	}
}

// forceVerb records f.toks[i], a force verb with lexicon entry e, and the
// verb acting on a weapon or hostile noun nearby: three words either side
// in a name ("missile_launch"), four words after the verb in prose
// ("strike on the selected target", but not "rocket launch schedule").
func (ev *forceEvidence) forceVerb(f *field, i int, e *entry, fw float64) {
	vw := e.verb * fw
	if e.past && f.kind == fieldDesc {
		vw /= 2
	}
	if vw > ev.verb.w {
		ev.verb = evidence{e.base, f.where, vw}
	}
	lo, hi := i+1, i+4
	if f.kind == fieldName {
		lo, hi = max(0, i-3), i+3
	}
	for j := lo; j < len(f.toks) && j <= hi; j++ {
		n := lexicon[f.toks[j]]
		if j == i || n == nil || !n.obj || civilianTarget(f.toks, j) {
			continue
		}
		if w := vw + n.noun*fw + 0.3; w > ev.prox.w {
			ev.prox = evidence{f.toks[i], f.where, w}
			ev.proxNoun = evidence{f.toks[j], f.where, n.noun * fw}
		}
	}
}

// score returns the force score, rounded to hundredths, and the evidence
// that decided it in words: the strongest of a force phrase, a force verb
// acting on a noun, and a force verb with weapon context (nouns) anywhere
// in the tool.
func (ev *forceEvidence) score(nouns map[string]evidence) (float64, string) {
	context, contextEv := weaponContext(nouns, ev.verb.text)
	cooc := 0.0
	switch {
	case ev.verb.w >= ForceThreshold: // "detonate" needs no context
		cooc = ev.verb.w
	case ev.verb.w > 0 && context > 0:
		cooc = ev.verb.w + context
	}

	score := math.Max(ev.phrase.w, math.Max(ev.prox.w, cooc))
	var why string
	switch score {
	case 0:
	case ev.phrase.w:
		why = "force phrase " + ev.phrase.String()
	case ev.prox.w:
		why = fmt.Sprintf("force verb %s acting on %s", ev.prox, ev.proxNoun)
	case ev.verb.w:
		why = "force verb " + ev.verb.String()
	default:
		why = fmt.Sprintf("force verb %s with weapon context %s", ev.verb, joinEvidence(contextEv, 3))
	}
	return math.Round(score*100) / 100, why
}

// weaponContext returns the weight of the weapon nouns other than verb,
// capped at 0.7, and their evidence, in order of their base form.
func weaponContext(nouns map[string]evidence, verb string) (float64, []evidence) {
	var context float64
	var contextEv []evidence
	for _, base := range sortedKeys(nouns) {
		if base == verb {
			continue // "bomb" in "bomb_notify" is not its own context
		}
		context += nouns[base].w
		contextEv = append(contextEv, nouns[base])
	}
	return math.Min(context, 0.7), contextEv
}

// forceUnlessSimulated classifies a tool whose force score reached
// ForceThreshold: force, unless simOnly says it is a simulation and no
// live marker overrides that, when its change and read words decide.
func (ev *forceEvidence) forceUnlessSimulated(fields []field, schemaErr error, score float64, why string, simOnly bool) Result {
	switch {
	case !simOnly:
		r := Result{Class: Force, Score: score, Reason: why}
		if ev.simEv.text != "" || ev.simLead {
			r.Reason += "; a simulation word is not enough without a simulation name prefix and a simulation description, or a denial of hardware"
		}
		return r
	case ev.liveEv.text != "":
		return Result{Class: Force, Score: score, Reason: fmt.Sprintf("%s; simulation word %s overridden by live marker %s", why, ev.simEv, ev.liveEv)}
	}
	r, _ := effectClass(fields, schemaErr)
	r.Score = score
	r.Reason = fmt.Sprintf("%s; not force: simulation %s with no live marker (%s)", r.Reason, ev.simEv, why)
	return r
}

// effectOrSuspect classifies a tool whose force score is under
// ForceThreshold by its change and read words, unless a harm signal makes
// it a force suspect (which a simulation with no live marker sets aside).
func (ev *forceEvidence) effectOrSuspect(fields []field, schemaErr error, score float64, simOnly bool) Result {
	r, _ := effectClass(fields, schemaErr)
	r.Score = score
	if readGoverns(fields[0].toks) {
		return r // reads about force: "attack_surface_report", "get_strike_history"
	}
	harm, ok := suspectEvidence(fields)
	if !ok {
		return r
	}
	switch {
	case simOnly && ev.liveEv.text == "":
		r.Reason = fmt.Sprintf("%s; not force-suspect: simulation %s with no live marker (harm signal %s)", r.Reason, ev.simEv, harm)
		return r
	case simOnly:
		return Result{Class: Force, Suspect: true, Score: score, Reason: fmt.Sprintf("force-suspect: harm signal %s; simulation word %s overridden by live marker %s", harm, ev.simEv, ev.liveEv)}
	}
	return Result{Class: Force, Suspect: true, Score: score, Reason: "force-suspect: harm signal " + harm.String()}
}

// effectClass decides between consequential and informational, and
// reports whether a read word decided.
func effectClass(fields []field, schemaErr error) (Result, bool) {
	suffix := ""
	if schemaErr != nil {
		suffix = "; input schema ignored: " + schemaErr.Error()
	}
	var strong, weak, read string
	for _, tok := range fields[0].toks {
		e := lexicon[tok]
		if e == nil || tok != e.base {
			continue // in names, "-ing" and "-s" forms are nouns: "get_settings", "list_records"
		}
		switch {
		case e.change == 2 && strong == "":
			strong = tok
		case e.change == 1 && weak == "":
			weak = tok
		}
		if e.read && read == "" {
			read = tok
		}
	}
	switch {
	case strong != "":
		return Result{Class: Consequential, Reason: fmt.Sprintf("change verb %q in name%s", strong, suffix)}, false
	case read != "":
		return Result{Class: Informational, Reason: fmt.Sprintf("read word %q in name%s", read, suffix)}, true
	}
	// A weak change verb in the name ("fire", "shoot", "order") is also a
	// noun; the description's first verb says which it is.
	for _, f := range fields[1:] {
		if f.kind != fieldDesc {
			continue
		}
		for _, tok := range f.toks {
			e := lexicon[tok]
			if e == nil || e.past {
				continue
			}
			if e.change > 0 {
				return Result{Class: Consequential, Reason: fmt.Sprintf("change verb %q in description%s", tok, suffix)}, false
			}
			if e.read {
				return Result{Class: Informational, Reason: fmt.Sprintf("read word %q in description%s", tok, suffix)}, true
			}
		}
	}
	if weak != "" {
		return Result{Class: Consequential, Reason: fmt.Sprintf("change verb %q in name%s", weak, suffix)}, false
	}
	for _, f := range fields[1:] {
		if f.kind != fieldSchema || f.where.what != "schema enum" {
			continue
		}
		for _, tok := range f.toks {
			if e := lexicon[tok]; e != nil && e.change == 2 && tok == e.base {
				return Result{Class: Consequential, Reason: fmt.Sprintf("change verb %q in %s%s", tok, f.where, suffix)}, false
			}
		}
	}
	return Result{Class: Informational, Reason: "no force or change evidence" + suffix}, false
}

// negated reports whether one of the three words before toks[i] negates it.
func negated(toks []string, i int) bool {
	for j := max(0, i-3); j < i; j++ {
		if e := lexicon[toks[j]]; e != nil && e.neg {
			return true
		}
	}
	return false
}

// civilianTarget reports whether toks[i] is "target" or "targets" followed
// by a civilian noun ("target audience").
func civilianTarget(toks []string, i int) bool {
	if toks[i] != "target" && toks[i] != "targets" {
		return false
	}
	return i+1 < len(toks) && civilianHeads[toks[i+1]]
}

func matchPhrase(toks []string, i int, phrases map[string][][]string) string {
	for _, p := range phrases[toks[i]] {
		if i+len(p) > len(toks) {
			continue
		}
		ok := true
		for k := 1; k < len(p); k++ {
			if toks[i+k] != p[k] {
				ok = false
				break
			}
		}
		if ok {
			return strings.Join(p, " ")
		}
	}
	return ""
}

func joinEvidence(es []evidence, limit int) string {
	// Strongest first, so the reason names what mattered.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].w > es[j-1].w; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	var parts []string
	for i, e := range es {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(es)-limit))
			break
		}
		parts = append(parts, e.String())
	}
	return strings.Join(parts, ", ")
}
