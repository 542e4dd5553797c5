package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

// dockerfile checks deploy/Dockerfile for what the image must be: a static, trimmed
// build of ./cmd/coc-bridge with the version stamped in, on distroless as the nonroot
// user, port 9096, exec-form entrypoint. (hadolint is not installable here; this is a
// targeted check of the decisions, not a general linter.)
func dockerfile(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("dockerfile: want one Dockerfile, got %d", len(args))
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("read Dockerfile: %w", err)
	}
	var ins []instruction
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(l)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(rest), line: start})
		cur.Reset()
	}

	var p problems
	var stages [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				p.addf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		return fmt.Errorf("%s: want a multi-stage build (builder and final stage), found %d stage(s)", args[0], len(stages))
	}
	builder, final := stages[0], stages[len(stages)-1]
	if !regexp.MustCompile(`(^|\s)golang:1\.26(\S*)\s+AS\s+\S+`).MatchString(builder[0].args) {
		p.addf("line %d: the builder must be FROM golang:1.26 ... AS <name>, is %q", builder[0].line, builder[0].args)
	}
	var build string
	for _, in := range builder {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=${BRANCH}"`, "./cmd/coc-bridge"} {
		if !strings.Contains(build, want) {
			p.addf("the builder's go build must contain %s", want)
		}
	}
	if !hasInstruction(builder, "ARG", "VERSION") && !hasInstructionPrefix(builder, "ARG", "VERSION=") {
		p.addf("the builder needs ARG VERSION")
	}
	if final[0].args != "gcr.io/distroless/static-debian12:nonroot" {
		p.addf("line %d: the final stage must be FROM gcr.io/distroless/static-debian12:nonroot, is %q", final[0].line, final[0].args)
	}
	if !hasInstruction(final, "USER", "65532:65532") {
		p.addf("the final stage needs USER 65532:65532")
	}
	if !hasInstruction(final, "EXPOSE", "9096") {
		p.addf("the final stage needs EXPOSE 9096")
	}
	if !hasInstruction(final, "ENTRYPOINT", `["/coc-bridge"]`) {
		p.addf(`the final stage needs ENTRYPOINT ["/coc-bridge"] (exec form)`)
	}
	for _, in := range ins {
		switch in.cmd {
		case "ADD":
			p.addf("line %d: use COPY, not ADD", in.line)
		case "HEALTHCHECK":
			p.addf("line %d: distroless has no shell or curl for a HEALTHCHECK; Kubernetes probes the HTTP endpoints", in.line)
		case "FROM":
			if strings.Contains(in.args, ":latest") || !strings.Contains(strings.Fields(lastFromImage(in.args))[0], ":") {
				p.addf("line %d: pin the base image tag, not latest", in.line)
			}
		}
	}
	if err := p.err(args[0]); err != nil {
		return err
	}
	fmt.Printf("deploycheck: %s: %d stages, %d instructions OK\n", args[0], len(stages), len(ins))
	return nil
}

func hasInstruction(stage []instruction, cmd, args string) bool {
	for _, in := range stage {
		if in.cmd == cmd && in.args == args {
			return true
		}
	}
	return false
}

func hasInstructionPrefix(stage []instruction, cmd, prefix string) bool {
	for _, in := range stage {
		if in.cmd == cmd && strings.HasPrefix(in.args, prefix) {
			return true
		}
	}
	return false
}

// lastFromImage drops FROM flags such as --platform=... and returns "image [AS name]".
func lastFromImage(args string) string {
	f := strings.Fields(args)
	for len(f) > 1 && strings.HasPrefix(f[0], "--") {
		f = f[1:]
	}
	return strings.Join(f, " ")
}
