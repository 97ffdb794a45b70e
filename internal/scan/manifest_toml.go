package scan

import (
	"bytes"
	"regexp"
	"strings"
)

// tomlLine is one logical piece of a TOML file as the small line reader
// below sees it. The reader knows only what the manifests need: table
// headers, "key = value" lines, and the string items of arrays that span
// lines. It does not handle multi-line strings or inline tables that span
// lines, which manifests don't use for dependencies.
type tomlLine struct {
	n      int
	table  string // current table, e.g. "project" or "tool.poetry.dependencies"
	array  bool   // header is [[...]]
	header bool   // this line is the header itself
	key    string // for key lines; for array items, the array's key
	value  string // raw value text; for array items, the unquoted string
	item   bool   // an item of a multi-line array
}

var (
	tomlHeader = regexp.MustCompile(`^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$`)
	tomlKV     = regexp.MustCompile(`^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*=\s*(.*)$`)
	tomlString = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"|'([^']*)'`)
	// tomlInline is an inline table, whose strings are not array items.
	tomlInline = regexp.MustCompile(`\{[^}]*\}`)
)

func tomlLines(data []byte, fn func(l tomlLine)) {
	table, array := "", false
	inArray := "" // key of an open multi-line array
	lineIter(data, func(n int, b []byte) {
		s := string(b)
		if inArray != "" {
			for _, m := range tomlString.FindAllStringSubmatch(tomlInline.ReplaceAllString(stripTomlComment(s), ""), -1) {
				fn(tomlLine{n: n, table: table, array: array, key: inArray, value: m[1] + m[2], item: true})
			}
			if strings.Contains(stripTomlComment(s), "]") {
				inArray = ""
			}
			return
		}
		if m := tomlHeader.FindStringSubmatch(s); m != nil && !strings.Contains(s, "=") {
			table, array = unquoteTomlKey(m[2]), m[1] == "[["
			fn(tomlLine{n: n, table: table, array: array, header: true})
			return
		}
		m := tomlKV.FindStringSubmatch(s)
		if m == nil {
			return
		}
		key, val := unquoteTomlKey(m[1]), strings.TrimSpace(stripTomlComment(m[2]))
		fn(tomlLine{n: n, table: table, array: array, key: key, value: val})
		if strings.HasPrefix(val, "[") {
			// Report the items on this line, and keep reading if it stays open.
			for _, sm := range tomlString.FindAllStringSubmatch(tomlInline.ReplaceAllString(val, ""), -1) {
				fn(tomlLine{n: n, table: table, array: array, key: key, value: sm[1] + sm[2], item: true})
			}
			if bytes.Count([]byte(val), []byte("[")) > bytes.Count([]byte(val), []byte("]")) {
				inArray = key
			}
		}
	})
}

func unquoteTomlKey(k string) string {
	k = strings.TrimSpace(k)
	var parts []string
	for _, p := range strings.Split(k, ".") {
		parts = append(parts, strings.Trim(strings.TrimSpace(p), `"'`))
	}
	return strings.Join(parts, ".")
}

// stripTomlComment drops a "#" comment that is outside strings.
func stripTomlComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\' && q == '"':
			i++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == '#':
			return s[:i]
		}
	}
	return s
}

var tomlPathKey = regexp.MustCompile(`\b(?:path|editable|virtual|directory|workspace)\s*=`)

// tomlStringValue returns the string in a value like `"1.0"`, or "".
func tomlStringValue(v string) string {
	if m := tomlString.FindStringSubmatch(v); m != nil && strings.HasPrefix(strings.TrimSpace(v), m[0][:1]) {
		return m[1] + m[2]
	}
	return ""
}

func isPoetryDepTable(t string) bool {
	return t == "tool.poetry.dependencies" || t == "tool.poetry.dev-dependencies" ||
		(strings.HasPrefix(t, "tool.poetry.group.") && strings.HasSuffix(t, ".dependencies"))
}

func parsePyproject(data []byte) []dep {
	var deps []dep
	local := map[string]bool{}
	tomlLines(data, func(l tomlLine) {
		switch {
		case l.item && ((l.table == "project" && l.key == "dependencies") ||
			l.table == "project.optional-dependencies" || l.table == "dependency-groups"):
			if name, loc, ok := pyRequirement(l.value); ok {
				deps = append(deps, dep{eco: EcoPyPI, name: name, line: l.n, local: loc})
			}
		case !l.item && !l.header && isPoetryDepTable(l.table) && l.key != "python":
			deps = append(deps, dep{eco: EcoPyPI, name: l.key, line: l.n, local: tomlPathKey.MatchString(l.value)})
		case !l.item && !l.header && l.table == "tool.uv.sources" && tomlPathKey.MatchString(l.value):
			local[normalizePyPI(l.key)] = true
		}
	})
	for i := range deps {
		if local[normalizePyPI(deps[i].name)] {
			deps[i].local = true
		}
	}
	return deps
}

func parsePipfile(data []byte) []dep {
	var deps []dep
	tomlLines(data, func(l tomlLine) {
		if !l.item && !l.header && (l.table == "packages" || l.table == "dev-packages") {
			deps = append(deps, dep{eco: EcoPyPI, name: l.key, line: l.n, local: tomlPathKey.MatchString(l.value)})
		}
	})
	return deps
}

// lockPackages reads the [[package]] blocks of poetry.lock, uv.lock and
// Cargo.lock: the line of each name, and what isLocal says about the
// block's other keys.
func lockPackages(data []byte, eco Ecosystem, isLocal func(table, key, value string) (local, decided bool)) []dep {
	var deps []dep
	cur := -1
	decided := false
	tomlLines(data, func(l tomlLine) {
		if l.header {
			if l.table == "package" && l.array {
				cur, decided = -1, false
			}
			return
		}
		if l.item {
			return
		}
		if l.table == "package" && l.key == "name" && cur < 0 {
			cur = len(deps)
			deps = append(deps, dep{eco: eco, name: tomlStringValue(l.value), line: l.n, local: true})
			// Presumed local until a source says otherwise; isLocal decides.
			if loc, ok := isLocal("", "", ""); ok {
				deps[cur].local = loc
			}
			return
		}
		if cur >= 0 && !decided {
			if loc, ok := isLocal(l.table, l.key, l.value); ok {
				deps[cur].local, decided = loc, true
			}
		}
	})
	return deps
}

func parsePoetryLock(data []byte) []dep {
	return lockPackages(data, EcoPyPI, func(table, key, value string) (bool, bool) {
		if table == "" && key == "" {
			return false, true // registry unless [package.source] says otherwise
		}
		if table == "package.source" && key == "type" {
			v := tomlStringValue(value)
			return v == "directory" || v == "file", true
		}
		return false, false
	})
}

func parseUVLock(data []byte) []dep {
	return lockPackages(data, EcoPyPI, func(table, key, value string) (bool, bool) {
		if table == "" && key == "" {
			return false, true
		}
		if table == "package" && key == "source" {
			return tomlPathKey.MatchString(value), true
		}
		return false, false
	})
}

func parseCargoLock(data []byte) []dep {
	// A package with no "source" is a workspace member or path dependency.
	return lockPackages(data, EcoCargo, func(table, key, value string) (bool, bool) {
		if table == "" && key == "" {
			return true, true
		}
		if table == "package" && key == "source" {
			return false, true
		}
		return false, false
	})
}

var cargoPackageKey = regexp.MustCompile(`\bpackage\s*=\s*"([^"]+)"`)

func isCargoDepTable(t string) (table bool, name string) {
	parts := strings.Split(t, ".")
	for i, p := range parts {
		if p == "dependencies" || p == "dev-dependencies" || p == "build-dependencies" {
			switch {
			case i == len(parts)-1:
				return true, ""
			case i == len(parts)-2:
				return false, parts[i+1] // [dependencies.foo]
			}
		}
	}
	return false, ""
}

func parseCargoToml(data []byte) []dep {
	var deps []dep
	cur := -1 // dep opened by a [dependencies.foo] header
	tomlLines(data, func(l tomlLine) {
		if l.header {
			cur = -1
			if _, name := isCargoDepTable(l.table); name != "" {
				cur = len(deps)
				deps = append(deps, dep{eco: EcoCargo, name: name, line: l.n})
			}
			return
		}
		if l.item {
			return
		}
		if cur >= 0 {
			switch l.key {
			case "path", "workspace":
				deps[cur].local = true
			case "package":
				deps[cur].name = tomlStringValue(l.value)
			}
			return
		}
		if isTable, _ := isCargoDepTable(l.table); isTable {
			d := dep{eco: EcoCargo, name: l.key, line: l.n, local: tomlPathKey.MatchString(l.value)}
			if m := cargoPackageKey.FindStringSubmatch(l.value); m != nil {
				d.name = m[1] // renamed dependency: the real crate name
			}
			deps = append(deps, d)
		}
	})
	return deps
}
