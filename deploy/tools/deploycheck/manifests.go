package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// manifests checks a `helm template` output of the chart.
func manifests(args []string) error {
	fs := flag.NewFlagSet("manifests", flag.ContinueOnError)
	repo := fs.String("src", ".", "repository root (for the variable names of cmd/coc-bridge)")
	rules := fs.String("rules", "", "rule file the PrometheusRule must equal, if one is rendered")
	rulesOut := fs.String("rules-out", "", "write the PrometheusRule's spec here as a Prometheus rule file")
	file, err := parse(fs, args, "manifests -src REPO [-rules RULES.yaml] [-rules-out FILE] RENDERED.yaml")
	if err != nil {
		return err
	}
	spec, err := loadEnvSpec(*repo)
	if err != nil {
		return err
	}
	docs, err := readDocs(file)
	if err != nil {
		return err
	}
	var p problems
	kinds := map[string]int{}
	for _, d := range docs {
		kinds[str(d, "kind")]++
		switch str(d, "kind") {
		case "Deployment":
			checkDeployment(&p, d, containerRules{spec: spec, secretDirs: []string{"/etc/coc-bridge/secrets"}})
		case "Service":
			ok := false
			for _, port := range list(d, "spec.ports") {
				if str(port, "name") == "http" && fmt.Sprint(get(port, "port")) != "" && str(port, "targetPort") == "http" {
					ok = true
				}
			}
			if !ok {
				p.addf("%s: needs a port named http targeting the container port http", name(d))
			}
		case "PrometheusRule":
			if *rules != "" {
				want, err := readDoc(*rules)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(get(d, "spec"), any(want)) {
					p.addf("%s: spec differs from %s", name(d), *rules)
				}
			}
			if *rulesOut != "" {
				if err := writeYAML(*rulesOut, get(d, "spec")); err != nil {
					return err
				}
			}
		case "ConfigMap":
			if strings.HasSuffix(str(d, "metadata.name"), "-dashboards") {
				checkDashboards(&p, d)
			}
		}
	}
	if kinds["Deployment"] != 1 {
		p.addf("want exactly one Deployment, found %d", kinds["Deployment"])
	}
	if kinds["Service"] != 1 {
		p.addf("want exactly one Service, found %d", kinds["Service"])
	}
	if err := p.err(file); err != nil {
		return err
	}
	fmt.Printf("deploycheck: %s: %d objects OK\n", file, len(docs))
	return nil
}

func checkDeployment(p *problems, d object, rules containerRules) {
	pod, _ := get(d, "spec.template.spec").(object)
	if str(d, "spec.template.metadata.annotations.checksum/config") == "" {
		// Annotation keys contain a slash, not a dot, so get() finds them.
		p.addf("%s: pod template needs the checksum/config annotation", name(d))
	}
	volumes := map[string]object{}
	for _, v := range list(pod, "volumes") {
		volumes[str(v, "name")] = v.(object)
	}
	var found bool
	for _, c := range list(pod, "containers") {
		co, _ := c.(object)
		if str(co, "name") != "coc-bridge" {
			continue
		}
		found = true
		where := name(d) + " container coc-bridge"
		env := rules.checkContainer(p, where, pod, co)
		for _, m := range list(co, "volumeMounts") {
			v := volumes[str(m, "name")]
			if v == nil {
				p.addf("%s: volumeMount %s has no volume", where, str(m, "name"))
				continue
			}
			switch str(m, "mountPath") {
			case "/tmp":
				if get(v, "emptyDir") == nil {
					p.addf("%s: /tmp must be an emptyDir", where)
				}
			case "/etc/coc-bridge/secrets":
				checkSecretVolume(p, where, v)
				if get(m, "readOnly") != true {
					p.addf("%s: the secrets mount must be readOnly", where)
				}
			}
		}
		if store := env["COC_BRIDGE_STORE"]; store != nil {
			if str(store, "value") != "/var/lib/coc-bridge/coc-bridge.db" {
				p.addf("%s: COC_BRIDGE_STORE should be /var/lib/coc-bridge/coc-bridge.db, is %q", where, str(store, "value"))
			}
			if r := fmt.Sprint(get(d, "spec.replicas")); r != "1" {
				p.addf("%s: SQLite store with %s replicas; only 1 is safe", name(d), r)
			}
			if str(d, "spec.strategy.type") != "Recreate" {
				p.addf("%s: SQLite store needs strategy Recreate (two pods must not share the file)", name(d))
			}
		} else if env["COC_BRIDGE_STORE_FILE"] == nil {
			p.addf("%s: neither COC_BRIDGE_STORE (SQLite) nor COC_BRIDGE_STORE_FILE (PostgreSQL) is set", where)
		}
	}
	if !found {
		p.addf("%s: no container named coc-bridge", name(d))
	}
}

// checkSecretVolume accepts a Secret volume or a projected volume of Secrets only.
func checkSecretVolume(p *problems, where string, v object) {
	if get(v, "secret") != nil {
		return
	}
	sources := list(v, "projected.sources")
	if len(sources) == 0 {
		p.addf("%s: /etc/coc-bridge/secrets must be a Secret or projected Secret volume", where)
	}
	for _, s := range sources {
		if get(s, "secret") == nil {
			p.addf("%s: /etc/coc-bridge/secrets projects something other than a Secret", where)
		}
	}
}

func checkDashboards(p *problems, d object) {
	if str(d, "metadata.labels.grafana_dashboard") != "1" {
		p.addf("%s: needs the label grafana_dashboard: \"1\" for the Grafana sidecar", name(d))
	}
	data, _ := get(d, "data").(object)
	if len(data) == 0 {
		p.addf("%s: has no dashboards", name(d))
	}
	for k, v := range data {
		s, _ := v.(string)
		var dash struct {
			UID string `json:"uid"`
		}
		if err := json.Unmarshal([]byte(s), &dash); err != nil {
			p.addf("%s: %s is not JSON: %v", name(d), k, err)
		} else if dash.UID == "" {
			p.addf("%s: %s has no uid", name(d), k)
		}
	}
}
