package sarif

import (
	"slices"

	"github.com/vllmctl/vllmctl/internal/project"
)

// Rule describes one diagnostic code of `vllmctl check`: the SARIF
// reportingDescriptor of that code, and the title of its GitHub annotation.
type Rule struct {
	Code     string           // the diagnostic code (project.Diagnostic.Code), the SARIF rule id
	Level    project.Severity // the usual severity; a finding may carry another (a clash is an error between profiles that run together, a warning otherwise)
	Short    string           // one line: what the finding is
	Help     string           // why it matters and what to do
	Security bool             // a secret or an open endpoint: tagged "security" for code scanning
}

// rules lists every code that check, the project loader and the memory plan
// emit. TestRulesCoverEmittedCodes reads those packages' sources and fails
// when a code is missing here or listed but no longer emitted.
var rules = []Rule{
	// Files that cannot be read as written (internal/project).
	{"yaml-syntax", project.Error, "A YAML file does not parse",
		"Compose, vLLM and vllmctl all stop at a YAML syntax error. Fix the file at the reported line (indentation, an unclosed quote or bracket, a tab).", false},
	{"empty-file", project.Error, "A compose file is empty",
		"Compose refuses an empty file. Write the services: mapping, or remove the file.", false},
	{"compose-shape", project.Error, "A compose file is not a mapping with services:",
		"A compose file must be a YAML mapping whose top level holds services:. Fix the top level of the file.", false},
	{"compose-invalid", project.Error, "Docker Compose cannot load the profile",
		"compose-go (the loader of docker compose) refuses the merged files. The message is Compose's own; fix the file until `docker compose config` accepts it.", false},
	{"cuda-visible-all", project.Error, "CUDA_VISIBLE_DEVICES=all hides every GPU",
		"CUDA_VISIBLE_DEVICES takes GPU indices or UUIDs and stops at the first entry it cannot read; \"all\" leaves no device visible and vLLM exits with `No CUDA GPUs are available`. NVIDIA_VISIBLE_DEVICES=all (or gpus: all) selects every GPU.", false},
	{"compose-undefined", project.Error, "A service refers to a network, volume, secret, config or service the file does not define",
		"Compose's consistency check refuses a service that names an undeclared network, named volume, secret or config, or depends on a service that is not defined: `docker compose up` stops before starting anything. Declare it at the top level or fix the name.", false},
	{"required-variable", project.Error, "A required variable (${VAR:?...}) is not set",
		"Compose refuses to start a file whose ${VAR:?message} variable is unset. Set the variable in the project's .env.", false},
	{"bad-interpolation", project.Error, "Malformed ${...} interpolation",
		"Compose cannot interpolate the value: an unclosed ${, an empty name or an unknown modifier. Write ${NAME}, ${NAME:-default} or ${NAME:?message}.", false},
	{"env-syntax", project.Error, "The .env file does not parse",
		"Compose reads .env line by line as KEY=value. Fix the reported line (a missing =, an unclosed quote).", false},
	{"unknown-setting", project.Error, "vllmctl.yaml has an unknown key",
		"vllmctl.yaml accepts a fixed set of keys (see the README). A misspelt key is ignored by nothing else, so it is an error. Fix or remove the key.", false},
	{"bad-setting", project.Error, "A vllmctl.yaml value has the wrong type",
		"A vllmctl.yaml value cannot be read as the type its key needs (a number, a list, a duration). Fix the value.", false},
	{"no-profiles", project.Error, "vllmctl.yaml profiles: match no compose file",
		"The globs under profiles: in vllmctl.yaml match no file, so no profile is checked. Write the paths relative to the project root; ** matches any number of folders.", false},

	// Variables and .env (internal/check).
	{"unset-variable", project.Error, "A variable is not set and has no default",
		"Compose interpolates an unset variable to an empty string, which usually leaves a vLLM flag without its value (vLLM exits at once) or a secret empty. Set the variable in the root .env, or give it a default (${VAR:-value}).", false},
	{"stray-brace", project.Error, "A stray } follows an interpolation",
		"An extra } after ${VAR} ends up in the value (for example in the model name). Remove the extra }.", false},
	{"env-unused", project.Warning, "A .env key that no compose file reads",
		"The key is set but nothing references it: often a typo of the name a profile reads. Remove it, or reference it as ${KEY} where it belongs.", false},
	{"env-missing", project.Warning, "A key of .env.example is missing from .env",
		"The profiles read the key and .env.example documents it, but .env lacks it: the value interpolates empty. Copy it into .env with a real value.", false},
	{"env-default", project.Info, "A variable's default applies silently",
		"The variable is not in .env, so the default written in the compose file applies. Add it to .env to make the value explicit.", false},
	{"shared-key", project.Warning, "Profiles read one variable with different defaults",
		"One value in .env replaces every profile's default at once. Give each profile its own variable.", false},
	{"leading-space", project.Warning, "A value starts with stray spaces",
		"An environment value or a device id with leading spaces reaches the container with them (a key or a GPU id then does not match). Write the value with no space after = or around the id.", false},
	{"hardcoded-secret", project.Error, "A secret is written in a compose file",
		"An API key or a Hugging Face token written in a compose file ends up in version control, in `docker inspect` and in logs. Revoke it, keep the value in the root .env and reference it as ${VAR}.", true},

	// The engine and its command line (internal/check).
	{"no-engine", project.Warning, "No vLLM engine found in the profile",
		"vllmctl finds engines by image, Dockerfile, command, wrapper script or flags; none matched, so nothing of this profile is checked as vLLM. Use a vLLM image or `vllm serve`, or mark the service with x-vllmctl: {engine: vllm}.", false},
	{"sidecar-target", project.Warning, "A sidecar names a container no profile defines",
		"A service with the Docker socket (a watchdog, a router) refers to a container name that no profile sets, so it watches nothing. Use a container_name a profile sets, or find engines by the label com.docker.compose.service.", false},
	{"x-vllmctl", project.Error, "The x-vllmctl block does not match its schema",
		"An unknown key or a wrong type in x-vllmctl is ignored by Compose and misread by vllmctl. See `vllmctl schema` for the allowed keys.", false},
	{"engine-wrapped", project.Info, "The engine is started by a script vllmctl cannot read",
		"Its vLLM flags are unknown and not checked. Mount the script from the project (a bind or the build context), or put the flags in command:.", false},
	{"launcher-twice", project.Error, "The command starts vLLM although the image's entrypoint already does",
		"The command's words reach vLLM as arguments and it exits with `unrecognized arguments`. Drop the launcher and keep the flags, or set the entrypoint explicitly.", false},
	{"shell-script-split", project.Error, "A script for sh -c is given as a command: string",
		"Compose splits a command: string into words, so the shell runs only the first word as its script and the rest become $0, $1…: vLLM never starts as written. Give the script as one list item.", false},
	{"command-comment", project.Error, "A # line inside a folded command: is not a comment",
		"Inside a YAML string the # line is text: compose passes its words to vLLM, which exits with `unrecognized arguments` (and a quote in it makes compose refuse the file). Move the comment above command:, or write command: as a list.", false},
	{"flag-missing-value", project.Error, "A vLLM flag has no value",
		"A value-taking flag is last or followed by another flag, often because the variable that should fill it is empty: argparse exits at once. Set the variable or write the value.", false},
	{"flag-bad-value", project.Error, "A vLLM flag's value has the wrong type",
		"The value cannot be what the flag takes (a number, a choice, a JSON object): vLLM exits with `invalid value`. Fix the value.", false},
	{"flag-unknown-flag", project.Error, "A flag vLLM does not know",
		"vLLM's parser rejects flags it does not define and exits with `unrecognized arguments`. Fix the spelling (the hint suggests the nearest flag) or remove it.", false},
	{"flag-unverified", project.Warning, "A flag no vLLM release vllmctl knows has",
		"The image's release is unknown or newer than vllmctl's tables, so the flag cannot be verified. Ignore this for a patched or newer build that has the flag; otherwise fix the spelling.", false},
	{"flag-split-item", project.Error, "A command list item holds a flag and its value together",
		"In command: as a list every item is one argv word: \"--max-model-len 8192\" reaches vLLM as one unknown argument. Write two items, or --flag=value.", false},
	{"flag-stray-argument", project.Error, "A positional argument vLLM rejects",
		"A word that belongs to no flag makes vLLM exit with `unrecognized arguments`. Give it to the flag it belongs to, or remove it.", false},
	{"flag-removed", project.Error, "A flag the engine's vLLM release no longer has",
		"The flag is gone from vLLM's parser by the release the image pins, so vLLM exits with `unrecognized arguments` (a warning when the release is not pinned). Remove it, or pin a release that has it.", false},
	{"flag-too-new", project.Error, "A flag newer than the engine's vLLM release",
		"The flag first appears in a later vLLM release than the one the image pins: vLLM exits with `unrecognized arguments`. Use a newer image, or remove the flag.", false},
	{"flag-deprecated", project.Warning, "A deprecated vLLM flag",
		"The flag still works on this release with a warning and is removed in a later one. Replace or remove it before upgrading.", false},
	{"flag-noop", project.Warning, "A flag that does nothing on the V1 engine",
		"vLLM accepts the flag but ignores it on the V1 engine, so it does not do what the profile expects. Remove it, or use what replaces it.", false},
	{"flag-value", project.Error, "A flag's value is not one vLLM accepts",
		"The value is not among the flag's choices for this release (a parser, a dtype, a quantization): vLLM exits at startup. Use one of the allowed values.", false},
	{"flag-json", project.Error, "A JSON-valued flag is not valid JSON",
		"vLLM exits with `invalid loads value`. Quote the whole object as one argument: --flag '{\"key\": \"value\"}'.", false},
	{"flag-json-key", project.Warning, "A JSON-valued flag has a key vllmctl does not know",
		"The key is not among those of this flag's configuration object, often a typo that vLLM ignores or rejects. Check it against `vllm serve --help=FLAG` of the image.", false},
	{"api-key-empty", project.Error, "--api-key gets an empty value",
		"An empty key disables vLLM's authentication: the engine serves anyone who reaches its port. Set the key's variable in .env, or remove --api-key on purpose.", true},
	{"tool-parser-fit", project.Warning, "A tool-call parser that does not fit the model",
		"The parser starts but parses no tool calls of this model family in real deployments. Use the parser the hint names, and test one tool call after deploying.", false},
	{"tool-choice", project.Error, "--enable-auto-tool-choice and --tool-call-parser are not set together",
		"Without a parser vLLM exits at startup; without --enable-auto-tool-choice requests with tool_choice \"auto\" get HTTP 400. Set both.", false},
	{"no-model", project.Warning, "No --model",
		"Without --model vLLM serves its default model, not the one the profile is for. Add --model <repo id or path>.", false},

	// GPUs, ports and resources (internal/check).
	{"gpu-util", project.Error, "--gpu-memory-utilization out of range",
		"The value is a fraction of the GPU's total memory in (0, 1]; above 0.95 CUDA graphs, NCCL buffers and a desktop have no room left (a warning). Use a value such as 0.85.", false},
	{"gpu-empty", project.Error, "The GPU selection interpolates to nothing",
		"An empty device_ids or NVIDIA_VISIBLE_DEVICES gives the container no GPU, or all of them. Set the variable in the root .env, or write the ids.", false},
	{"gpu-none", project.Warning, "No GPU is assigned to the engine",
		"Without a device reservation the container sees no GPU and vLLM fails to find a device. Add deploy.resources.reservations.devices with device_ids.", false},
	{"tp-gpus", project.Error, "Tensor × pipeline × data parallel size differs from the GPUs assigned",
		"With fewer GPUs than ranks vLLM fails to start its workers (an error); with more, the extra GPUs stay idle (a warning). Match --tensor-parallel-size to the GPUs assigned.", false},
	{"gpu-overcommit", project.Error, "Engines sharing a GPU ask for more than all of its memory",
		"The memory-utilization shares of the engines on one GPU add up to more than 1: the second engine to start fails its free-memory check. Lower the shares so they sum to 0.90 or less.", false},
	{"port-clash", project.Error, "A host port is published by two services",
		"The second container cannot bind the port and does not start. An error between profiles that run together, a warning otherwise (say which profiles alternate with x-vllmctl.group or alternatives). Give each profile its own host port.", false},
	{"container-name-clash", project.Error, "A container_name is used twice",
		"Docker refuses a second container with the same name. Use a distinct container_name per service, or none; profiles that alternate on purpose can share one.", false},
	{"compose-profile-inactive", project.Warning, "Every engine sits behind a compose profile that is not active",
		"The profile's vLLM engines run only under compose profiles (profiles: on the service) and COMPOSE_PROFILES activates none of them: docker compose up, and vllmctl up, start the other services and no engine. Set COMPOSE_PROFILES in .env (or the environment) to the one to run.", false},
	{"no-port", project.Warning, "The engine publishes no port",
		"The engine is reachable only from its compose network. Add ports: [\"5000:8000\"] (host:container).", false},
	{"port-target", project.Error, "The published port does not reach vLLM's --port",
		"The port mapping's container side differs from the port vLLM listens on, so requests reach nothing. Map host:PORT with vLLM's --port, or change --port.", false},
	{"no-hf-cache", project.Warning, "No Hugging Face cache volume",
		"Every recreate of the container downloads the model again. Mount a cache: volumes: [\"hf-cache:/root/.cache/huggingface\"].", false},
	{"no-shm", project.Warning, "No ipc: host and no shm_size",
		"Docker's 64 MB /dev/shm is too small for PyTorch workers (tensor parallelism fails or hangs). Add ipc: host, or shm_size: 16gb.", false},
	{"healthcheck-start", project.Warning, "The healthcheck start period is shorter than the model's load",
		"Docker marks the engine unhealthy while it still loads the model, and restarts or routes around it. Raise start_period to the load time the hint gives.", false},
	{"no-image", project.Error, "A service has no image and no build",
		"Compose cannot create the container. Set image: (a pinned vLLM image such as vllm/vllm-openai:v0.11.0).", false},
	{"image-unpinned", project.Warning, "The image is not pinned to a release",
		"latest and nightly tags move: the next pull may change vLLM's flags and defaults under the profile. Pin a release tag or a digest.", false},

	// Bind mounts, judged on the Docker host (internal/check).
	{"bind-host", project.Error, "A Windows bind source on a Linux Docker host",
		"The mount fails or comes up empty. Use the Linux path of that folder on the Docker host.", false},
	{"bind-missing", project.Warning, "A bind source does not exist",
		"Docker creates an empty folder instead (or refuses to start with create_host_path: false), and the engine finds no model or a folder where it expects a file. Fix the path; relative paths are resolved from the first compose file's folder.", false},
	{"bind-wsl-drive", project.Warning, "A Windows drive mounted through WSL under Docker Desktop",
		"Such mounts (/mnt/c/...) have come up empty under Docker Desktop and break after wsl --shutdown. Write the Windows path, or keep the files inside the WSL distro.", false},
	{"bind-created", project.Info, "A bind source Docker will create empty",
		"Right for a cache, wrong for data. Create it first if it must hold data.", false},
	{"bind-skipped", project.Info, "Bind sources were not judged",
		"Bind sources are judged on the Docker host's OS, and no Docker daemon answered (or the path belongs to another machine). Run check where Docker runs.", false},

	// The memory plan (internal/plan), with a GPU inventory.
	{"plan-kv-too-small", project.Error, "The KV cache cannot hold one sequence of --max-model-len",
		"vLLM exits at startup: the memory left for the KV cache holds fewer tokens than --max-model-len. Lower --max-model-len, raise --gpu-memory-utilization, or use more GPUs or a quantized model (the hint gives the values that fit).", false},
	{"plan-no-kv-memory", project.Error, "No memory is left for the KV cache",
		"Weights, activations and CUDA graphs take the whole budget: vLLM exits with `No available memory for the cache blocks`. Raise --gpu-memory-utilization, quantize, or use more GPUs.", false},
	{"plan-weights-do-not-fit", project.Error, "The model's weights do not fit the GPUs",
		"The weights alone exceed the budget of the GPUs assigned: vLLM dies with CUDA out of memory while loading. Use a quantized model, more GPUs (tensor parallelism) or larger GPUs.", false},
	{"plan-max-model-len-above-model", project.Error, "--max-model-len exceeds the model's context length",
		"vLLM refuses a --max-model-len above the model's max_position_embeddings (without rope scaling). Lower it to the model's length.", false},
	{"plan-not-enough-free-memory", project.Error, "The GPUs have too little free memory now",
		"Other processes hold GPU memory, so the budget --gpu-memory-utilization asks for is not free: vLLM fails its free-memory check. Stop them, or lower the utilization.", false},
	{"plan-fits-tight", project.Warning, "The profile fits with little room to spare",
		"It fits, but with little KV cache headroom or under 1.1 sequences of --max-model-len at once: long prompts queue, and a small change (a driver, a release) can tip it over. Leave more room: a lower --max-model-len or a higher utilization.", false},
	{"plan-engine-refuses", project.Error, "vLLM raises on the configuration at startup",
		"Whatever the memory, vLLM refuses this configuration when it starts: a separate draft model on a release that does not run one, a draft tensor-parallel size it rejects, or a draft whose vocabulary differs from the target's. Apply the hint's fix.", false},
	{"plan-boot-oom-risk", project.Warning, "The boot peak may exceed the GPU's memory",
		"The budget fits, but what vLLM allocates outside it at boot (such as CUDA graphs) is more than the memory left beside it: vLLM can die with CUDA out of memory at boot. Lower --gpu-memory-utilization to the hint's value, or use --enforce-eager.", false},
}

var ruleIndex = func() map[string]int {
	m := make(map[string]int, len(rules))
	for i, r := range rules {
		m[r.Code] = i
	}
	return m
}()

// Rules returns every rule, sorted by code.
func Rules() []Rule {
	out := slices.Clone(rules)
	slices.SortFunc(out, func(a, b Rule) int {
		switch {
		case a.Code < b.Code:
			return -1
		case a.Code > b.Code:
			return 1
		}
		return 0
	})
	return out
}

// RuleFor returns the rule of a diagnostic code. A code this table does not
// know (a newer check in a mixed build) gets a generic rule, so the log stays
// valid; TestRulesCoverEmittedCodes keeps that from happening in this module.
func RuleFor(code string) (Rule, bool) {
	if i, ok := ruleIndex[code]; ok {
		return rules[i], true
	}
	return Rule{Code: code, Level: project.Warning, Short: "vllmctl check finding " + code,
		Help: "See the finding's message and hint."}, false
}
