package scan

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// dep is one dependency declared in a manifest or lockfile.
type dep struct {
	eco   Ecosystem
	name  string
	line  int
	local bool // a path, file:, link: or workspace: dependency: the project's own code
}

// manifestKind says how a file is handled: parsed for dependencies, and
// whether the source patterns also run over it.
type manifestKind struct {
	parse  func(data []byte) []dep
	source bool // also run the source patterns (manifests yes, lockfiles no)
}

// manifestFor returns how to treat the file at rel (slash-separated), or
// false for an ordinary source file.
func manifestFor(rel string) (manifestKind, bool) {
	base := path.Base(rel)
	switch base {
	case "go.mod":
		return manifestKind{parseGoMod, true}, true
	case "go.sum", "go.work.sum", "npm-shrinkwrap.json":
		if base == "npm-shrinkwrap.json" {
			return manifestKind{parsePackageLock, false}, true
		}
		return manifestKind{nil, false}, true
	case "package.json":
		return manifestKind{parsePackageJSON, true}, true
	case "package-lock.json":
		return manifestKind{parsePackageLock, false}, true
	case "pnpm-lock.yaml":
		return manifestKind{parsePnpmLock, false}, true
	case "yarn.lock":
		return manifestKind{parseYarnLock, false}, true
	case "bun.lock":
		return manifestKind{parseBunLock, false}, true
	case "pyproject.toml":
		return manifestKind{parsePyproject, true}, true
	case "Pipfile":
		return manifestKind{parsePipfile, true}, true
	case "Pipfile.lock":
		return manifestKind{parsePipfileLock, false}, true
	case "poetry.lock":
		return manifestKind{parsePoetryLock, false}, true
	case "uv.lock":
		return manifestKind{parseUVLock, false}, true
	case "Cargo.toml":
		return manifestKind{parseCargoToml, true}, true
	case "Cargo.lock":
		return manifestKind{parseCargoLock, false}, true
	case "pom.xml":
		return manifestKind{parsePom, true}, true
	case "build.gradle", "build.gradle.kts":
		return manifestKind{parseGradle, true}, true
	case "libs.versions.toml":
		return manifestKind{parseVersionCatalog, true}, true
	case "Gemfile", "gems.rb":
		return manifestKind{parseGemfile, true}, true
	case "Gemfile.lock", "gems.locked":
		return manifestKind{parseGemfileLock, false}, true
	case "composer.json":
		return manifestKind{parseComposerJSON, true}, true
	case "composer.lock":
		return manifestKind{parseComposerLock, false}, true
	case "packages.config", "Directory.Packages.props", "Directory.Build.props":
		return manifestKind{parseNuGet, true}, true
	}
	switch path.Ext(base) {
	case ".csproj", ".fsproj", ".vbproj":
		return manifestKind{parseNuGet, true}, true
	case ".txt", ".in":
		if strings.HasPrefix(base, "requirements") || strings.HasSuffix(strings.TrimSuffix(base, path.Ext(base)), "requirements") ||
			strings.HasPrefix(rel, "requirements/") || strings.Contains(rel, "/requirements/") {
			return manifestKind{parseRequirements, true}, true
		}
	}
	return manifestKind{}, false
}

// lineIter calls fn for every line with its 1-based number, without the
// newline and any "\r".
func lineIter(data []byte, fn func(n int, line []byte)) {
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		fn(n, bytes.TrimSuffix(line, []byte{'\r'}))
	}
}

// --- Go ---

func parseGoMod(data []byte) []dep {
	var deps []dep
	local := map[string]bool{}
	block := ""
	lineIter(data, func(n int, b []byte) {
		line := string(b)
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			return
		}
		if block != "" {
			if f[0] == ")" {
				block = ""
				return
			}
			f = append([]string{block}, f...)
		} else if len(f) == 2 && f[1] == "(" {
			block = f[0]
			return
		}
		switch f[0] {
		case "require":
			if len(f) >= 2 {
				deps = append(deps, dep{eco: EcoGo, name: strings.Trim(f[1], `"`), line: n})
			}
		case "replace":
			// replace old [v] => new [v]; a new path that is a directory is local.
			for i, w := range f {
				if w == "=>" && i+1 < len(f) {
					to := f[i+1]
					if strings.HasPrefix(to, "./") || strings.HasPrefix(to, "../") || strings.HasPrefix(to, "/") {
						local[strings.Trim(f[1], `"`)] = true
					}
				}
			}
		}
	})
	for i := range deps {
		deps[i].local = local[deps[i].name]
	}
	return deps
}

// --- Python ---

var pyReqName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)

// pyRequirement parses a PEP 508 requirement string (or a requirements.txt
// line) and reports the project name and whether it points at a local path.
func pyRequirement(s string) (name string, local, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return "", false, false
	}
	m := pyReqName.FindStringSubmatch(s)
	if m == nil {
		return "", false, false
	}
	local = strings.Contains(s, "file:")
	return m[1], local, true
}

func parseRequirements(data []byte) []dep {
	var deps []dep
	lineIter(data, func(n int, b []byte) {
		line := string(b)
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			return
		}
		if name, local, ok := pyRequirement(line); ok {
			deps = append(deps, dep{eco: EcoPyPI, name: name, line: n, local: local})
		}
	})
	return deps
}

// --- Ruby ---

var (
	gemLine     = regexp.MustCompile(`^\s*gem\s*\(?\s*["']([^"']+)["']`)
	gemLocal    = regexp.MustCompile(`\bpath\s*:|:path\s*=>`)
	gemLockSpec = regexp.MustCompile(`^    ([A-Za-z0-9._-]+) \(`)
)

func parseGemfile(data []byte) []dep {
	var deps []dep
	lineIter(data, func(n int, b []byte) {
		if m := gemLine.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoRubyGems, name: string(m[1]), line: n, local: gemLocal.Match(b)})
		}
	})
	return deps
}

func parseGemfileLock(data []byte) []dep {
	var deps []dep
	section := ""
	lineIter(data, func(n int, b []byte) {
		if len(b) > 0 && b[0] != ' ' {
			section = string(bytes.TrimSpace(b))
			return
		}
		if section != "GEM" && section != "GIT" && section != "PATH" {
			return
		}
		if m := gemLockSpec.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoRubyGems, name: string(m[1]), line: n, local: section == "PATH"})
		}
	})
	return deps
}

// --- JVM ---

var (
	xmlTag = regexp.MustCompile(`<(/?)(dependency|exclusion|groupId|artifactId)>([^<]*)`)
)

func parsePom(data []byte) []dep {
	var deps []dep
	inDep, inExcl := false, false
	var group, artifact string
	var line int
	lineIter(data, func(n int, b []byte) {
		for _, m := range xmlTag.FindAllSubmatch(b, -1) {
			closing, tag, val := len(m[1]) > 0, string(m[2]), strings.TrimSpace(string(m[3]))
			switch {
			case tag == "dependency" && !closing:
				inDep, group, artifact, line = true, "", "", 0
			case tag == "dependency" && closing:
				if inDep && group != "" && artifact != "" {
					deps = append(deps, dep{eco: EcoMaven, name: group + ":" + artifact, line: line})
				}
				inDep = false
			case tag == "exclusion":
				inExcl = !closing
			case inDep && !inExcl && !closing && tag == "groupId":
				group = val
				if line == 0 {
					line = n
				}
			case inDep && !inExcl && !closing && tag == "artifactId":
				artifact, line = val, n
			}
		}
	})
	return deps
}

var (
	gradleConf  = regexp.MustCompile(`^\s*(?:[a-zA-Z]*(?:[iI]mplementation|[aA]pi|[cC]ompileOnly|[rR]untimeOnly|[cC]ompile|[rR]untime)|kapt|ksp|annotationProcessor|classpath|developmentOnly|platform|enforcedPlatform)\b`)
	gradleCoord = regexp.MustCompile(`["']([A-Za-z0-9._\-]+):([A-Za-z0-9._\-]+)(?::[^"']*)?["']`)
	gradleMap   = regexp.MustCompile(`group\s*[:=]\s*["']([^"']+)["']\s*,\s*name\s*[:=]\s*["']([^"']+)["']`)
)

func parseGradle(data []byte) []dep {
	var deps []dep
	lineIter(data, func(n int, b []byte) {
		if !gradleConf.Match(b) {
			return
		}
		if m := gradleCoord.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoMaven, name: string(m[1]) + ":" + string(m[2]), line: n})
		} else if m := gradleMap.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoMaven, name: string(m[1]) + ":" + string(m[2]), line: n})
		}
	})
	return deps
}

var (
	catalogModule = regexp.MustCompile(`\bmodule\s*=\s*"([^":]+):([^":]+)"`)
	catalogString = regexp.MustCompile(`=\s*"([^":\s]+):([^":\s]+):[^"]*"`)
)

func parseVersionCatalog(data []byte) []dep {
	var deps []dep
	table := ""
	lineIter(data, func(n int, b []byte) {
		t := bytes.TrimSpace(b)
		if bytes.HasPrefix(t, []byte("[")) {
			table = string(bytes.Trim(t, "[] "))
			return
		}
		if table != "libraries" && table != "plugins" {
			return
		}
		if m := catalogModule.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoMaven, name: string(m[1]) + ":" + string(m[2]), line: n})
		} else if m := gradleMap.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoMaven, name: string(m[1]) + ":" + string(m[2]), line: n})
		} else if m := catalogString.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoMaven, name: string(m[1]) + ":" + string(m[2]), line: n})
		}
	})
	return deps
}

// --- .NET ---

var (
	nugetRef     = regexp.MustCompile(`(?i)<(?:PackageReference|PackageVersion|GlobalPackageReference)\b[^>]*?\b(?:Include|Update)\s*=\s*"([^"]+)"`)
	nugetPackage = regexp.MustCompile(`(?i)<package\b[^>]*?\bid\s*=\s*"([^"]+)"`)
)

func parseNuGet(data []byte) []dep {
	var deps []dep
	lineIter(data, func(n int, b []byte) {
		if m := nugetRef.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoNuGet, name: string(m[1]), line: n})
		} else if m := nugetPackage.FindSubmatch(b); m != nil {
			deps = append(deps, dep{eco: EcoNuGet, name: string(m[1]), line: n})
		}
	})
	return deps
}

// --- JavaScript lockfiles in text formats ---

// npmSpecName returns the package name of "name@range" ("@scope/name@range"
// too) and whether the range points at local code.
func npmSpecName(spec string) (name string, local bool) {
	spec = strings.Trim(strings.TrimSpace(spec), `"'`)
	at := strings.LastIndexByte(spec, '@')
	if at <= 0 {
		return spec, false
	}
	name, rng := spec[:at], spec[at+1:]
	// yarn berry: "name@npm:^1", "name@workspace:."; the protocol is after '@'.
	if i := strings.Index(spec[1:], "@"); i >= 0 && i+1 < at {
		name, rng = spec[:i+1], spec[i+2:]
	}
	for _, p := range []string{"workspace:", "file:", "link:", "portal:"} {
		if strings.HasPrefix(rng, p) {
			local = true
		}
	}
	return name, local
}

func parseYarnLock(data []byte) []dep {
	var deps []dep
	lineIter(data, func(n int, b []byte) {
		if len(b) == 0 || b[0] == ' ' || b[0] == '#' || !bytes.HasSuffix(b, []byte(":")) {
			return
		}
		first, _, _ := strings.Cut(string(bytes.TrimSuffix(b, []byte(":"))), ",")
		if strings.HasPrefix(first, "__metadata") {
			return
		}
		name, local := npmSpecName(first)
		deps = append(deps, dep{eco: EcoNPM, name: name, line: n, local: local})
	})
	return deps
}

func parsePnpmLock(data []byte) []dep {
	var deps []dep
	section := ""
	lineIter(data, func(n int, b []byte) {
		if len(b) > 0 && b[0] != ' ' && b[0] != '#' {
			section = string(bytes.TrimSuffix(bytes.TrimSpace(b), []byte(":")))
			return
		}
		if section != "packages" || !bytes.HasPrefix(b, []byte("  ")) || bytes.HasPrefix(b, []byte("   ")) {
			return
		}
		key := strings.TrimSpace(string(b))
		switch {
		case strings.HasPrefix(key, "'") || strings.HasPrefix(key, `"`): // '@s/a@1.0.0': ...
			if end := strings.IndexByte(key[1:], key[0]); end >= 0 {
				key = key[1 : end+1]
			}
		case strings.Contains(key, ": "): // key: {...}
			key = key[:strings.LastIndex(key, ": ")]
		default: // key:
			key = strings.TrimSuffix(key, ":")
		}
		key = strings.TrimPrefix(key, "/")
		if i := strings.IndexByte(key, '('); i > 0 { // peer-dependency suffix
			key = key[:i]
		}
		if key == "" || strings.HasPrefix(key, "file:") || strings.HasPrefix(key, "link:") {
			return
		}
		if !strings.Contains(key[1:], "@") {
			// lockfile v5: "/name/1.2.3" or "/@scope/name/1.2.3".
			if i := strings.LastIndexByte(key, '/'); i > 0 {
				key = key[:i] + "@" + key[i+1:]
			}
		}
		name, local := npmSpecName(key)
		deps = append(deps, dep{eco: EcoNPM, name: name, line: n, local: local})
	})
	return deps
}

var (
	bunPackage = regexp.MustCompile(`^\s*"[^"]+":\s*\[\s*"([^"]+)"`)
	bunDep     = regexp.MustCompile(`^\s*"([^"]+)":\s*"([^"]*)"`)
	bunOpen    = regexp.MustCompile(`^\s*"([^"]*)":\s*\{\s*$`)
)

// parseBunLock reads bun.lock, which is JSON with trailing commas (JSONC),
// line by line: package entries are `"key": ["name@version", ...]`, and the
// workspaces list their dependencies as `"name": "range"`.
func parseBunLock(data []byte) []dep {
	var deps []dep
	var stack []string // keys of the objects opened on their own line
	lineIter(data, func(n int, b []byte) {
		t := bytes.TrimSpace(b)
		if m := bunOpen.FindSubmatch(b); m != nil {
			stack = append(stack, string(m[1]))
			return
		}
		if bytes.HasPrefix(t, []byte("}")) {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			return
		}
		if len(stack) == 0 {
			return
		}
		switch top := stack[len(stack)-1]; {
		case len(stack) == 1 && top == "packages":
			if m := bunPackage.FindSubmatch(b); m != nil {
				name, local := npmSpecName(string(m[1]))
				deps = append(deps, dep{eco: EcoNPM, name: name, line: n, local: local})
			}
		case strings.HasSuffix(strings.ToLower(top), "dependencies") && len(stack) >= 3 && stack[0] == "workspaces":
			if m := bunDep.FindSubmatch(b); m != nil {
				_, local := npmSpecName(string(m[1]) + "@" + string(m[2]))
				deps = append(deps, dep{eco: EcoNPM, name: string(m[1]), line: n, local: local})
			}
		}
	})
	return deps
}
