package scan

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// jsonVisit is called for every object member and array element: path holds
// the keys of the enclosing containers (array elements use "[]"), key is the
// member's key ("[]" in arrays), line is the key's line, and val is the
// value's first token (a string, json.Number, bool, nil, or json.Delim '{' or
// '[').
type jsonVisit func(path []string, key string, line int, val json.Token)

// walkJSON streams data and reports each value with the line of its key. It
// returns early, without error, on malformed input: the dependencies already
// reported stand.
func walkJSON(data []byte, visit jsonVisit) {
	var nl []int // offsets of '\n'
	for i, c := range data {
		if c == '\n' {
			nl = append(nl, i)
		}
	}
	lineOf := func(off int64) int { return sort.SearchInts(nl, int(off)) + 1 }

	type frame struct {
		obj       bool
		expectKey bool
		key       string
		keyLine   int
	}
	var stack []frame
	var path []string
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return // io.EOF or a syntax error
		}
		off := dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					path = path[:len(path)-1]
					if p := &stack[len(stack)-1]; p.obj {
						p.expectKey = true
					}
				}
				continue
			}
			top.key, _ = tok.(string)
			top.keyLine = lineOf(off)
			top.expectKey = false
			continue
		}
		key, line := "", lineOf(off)
		if top != nil {
			if top.obj {
				key, line = top.key, top.keyLine
			} else {
				key = "[]"
			}
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil {
					visit(path, key, line, d)
					path = append(path, key)
				}
				stack = append(stack, frame{obj: d == '{', expectKey: d == '{'})
			case ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					path = path[:len(path)-1]
					if p := &stack[len(stack)-1]; p.obj {
						p.expectKey = true
					}
				}
			}
			continue
		}
		if top != nil {
			visit(path, key, line, tok)
			if top.obj {
				top.expectKey = true
			}
		}
	}
}

var npmDepSections = []string{"dependencies", "devDependencies", "peerDependencies", "optionalDependencies"}

func npmLocalRange(r string) bool {
	for _, p := range []string{"file:", "link:", "workspace:", "portal:", "./", "../", "/"} {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return false
}

func parsePackageJSON(data []byte) []dep {
	var deps []dep
	walkJSON(data, func(path []string, key string, line int, val json.Token) {
		if len(path) == 1 && slices.Contains(npmDepSections, path[0]) {
			if s, ok := val.(string); ok {
				deps = append(deps, dep{eco: EcoNPM, name: key, line: line, local: npmLocalRange(s)})
			}
		}
	})
	return deps
}

// parsePackageLock reads package-lock.json (lockfile versions 1 to 3) and
// npm-shrinkwrap.json.
func parsePackageLock(data []byte) []dep {
	var deps []dep
	index := map[string]int{} // packages key → index in deps
	sawPackages := false
	walkJSON(data, func(path []string, key string, line int, val json.Token) {
		switch {
		case len(path) == 1 && path[0] == "packages" && val == json.Delim('{'):
			sawPackages = true
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 {
				return // the root project or a workspace member: our own code
			}
			index[key] = len(deps)
			deps = append(deps, dep{eco: EcoNPM, name: key[i+len("node_modules/"):], line: line})
		case len(path) == 2 && path[0] == "packages" && key == "link" && val == true:
			if i, ok := index[path[1]]; ok {
				deps[i].local = true
			}
		case !sawPackages && len(path) >= 1 && path[0] == "dependencies" && path[len(path)-1] == "dependencies" && val == json.Delim('{'):
			index["v1/"+strings.Join(path, "/")+"/"+key] = len(deps)
			deps = append(deps, dep{eco: EcoNPM, name: key, line: line})
		case !sawPackages && len(path) >= 2 && path[0] == "dependencies" && key == "version":
			if s, ok := val.(string); ok && npmLocalRange(s) {
				if i, ok := index["v1/"+strings.Join(path, "/")]; ok {
					deps[i].local = true
				}
			}
		}
	})
	return deps
}

func parsePipfileLock(data []byte) []dep {
	var deps []dep
	index := map[string]int{}
	walkJSON(data, func(path []string, key string, line int, val json.Token) {
		switch {
		case len(path) == 1 && (path[0] == "default" || path[0] == "develop") && val == json.Delim('{'):
			index[path[0]+"/"+key] = len(deps)
			deps = append(deps, dep{eco: EcoPyPI, name: key, line: line})
		case len(path) == 2 && (path[0] == "default" || path[0] == "develop") && (key == "path" || key == "file"):
			if i, ok := index[path[0]+"/"+path[1]]; ok {
				deps[i].local = true
			}
		}
	})
	return deps
}

func parseComposerJSON(data []byte) []dep {
	var deps []dep
	walkJSON(data, func(path []string, key string, line int, val json.Token) {
		if len(path) == 1 && (path[0] == "require" || path[0] == "require-dev") && strings.Contains(key, "/") {
			deps = append(deps, dep{eco: EcoComposer, name: key, line: line})
		}
	})
	return deps
}

func parseComposerLock(data []byte) []dep {
	var deps []dep
	walkJSON(data, func(path []string, key string, line int, val json.Token) {
		if len(path) == 2 && (path[0] == "packages" || path[0] == "packages-dev") && key == "name" {
			if s, ok := val.(string); ok {
				deps = append(deps, dep{eco: EcoComposer, name: s, line: line})
			}
		}
		// "dist": {"type": "path"} marks a local package; the name comes first
		// in composer.lock entries.
		if len(path) == 3 && (path[0] == "packages" || path[0] == "packages-dev") && path[2] == "dist" && key == "type" && val == "path" {
			if len(deps) > 0 {
				deps[len(deps)-1].local = true
			}
		}
	})
	return deps
}
