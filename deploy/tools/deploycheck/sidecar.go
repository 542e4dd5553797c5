package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// alertmanagerSpecKeys are the kube-prometheus-stack alertmanagerSpec keys that pass
// unchanged into the Alertmanager resource, so they can be validated against its CRD
// schema. Others are refused: the example should hold only what the sidecar needs.
var alertmanagerSpecKeys = []string{"replicas", "containers", "secrets", "configMaps", "volumes",
	"volumeMounts", "storage", "securityContext", "resources", "podMetadata", "retention",
	"logLevel", "externalUrl", "routePrefix", "affinity", "tolerations", "nodeSelector",
	"priorityClassName", "podAntiAffinity", "podAntiAffinityTopologyKey"}

// Keys of kube-prometheus-stack only (not fields of the Alertmanager resource).
var chartOnlyKeys = []string{"podAntiAffinity", "podAntiAffinityTopologyKey"}

var webhookURLs = []string{"http://localhost:9096/api/v1/alerts", "http://127.0.0.1:9096/api/v1/alerts"}

// sidecar checks a kube-prometheus-stack values file that runs coc-bridge as a container
// of the Alertmanager pods, and writes DIR/alertmanager.yml (alertmanager.config, for
// amtool) and DIR/alertmanager.yaml (an Alertmanager resource with the spec, for
// kubeconform with the prometheus-operator CRD schema).
func sidecar(args []string) error {
	fs := flag.NewFlagSet("sidecar", flag.ContinueOnError)
	repo := fs.String("src", ".", "repository root (for the variable names of cmd/coc-bridge)")
	out := fs.String("out", "", "output directory")
	file, err := parse(fs, args, "sidecar -src REPO -out DIR VALUES.yaml", out)
	if err != nil {
		return err
	}
	spec, err := loadEnvSpec(*repo)
	if err != nil {
		return err
	}
	values, err := readDoc(file)
	if err != nil {
		return err
	}
	var p problems

	config, _ := get(values, "alertmanager.config").(object)
	if config == nil {
		p.addf("alertmanager.config is missing")
	} else {
		checkReceiver(&p, config)
	}

	amSpec, _ := get(values, "alertmanager.alertmanagerSpec").(object)
	if amSpec == nil {
		return fmt.Errorf("%s: alertmanager.alertmanagerSpec is missing", file)
	}
	crSpec := object{}
	for k, v := range amSpec {
		if !slices.Contains(alertmanagerSpecKeys, k) {
			p.addf("alertmanager.alertmanagerSpec.%s is not checked by this tool; keep the example to what the sidecar needs", k)
			continue
		}
		if !slices.Contains(chartOnlyKeys, k) {
			crSpec[k] = v
		}
	}
	checkSidecarPod(&p, amSpec, containerRules{spec: spec, secretDirs: []string{"/etc/alertmanager/secrets"}})

	if err := p.err(file); err != nil {
		return err
	}
	if config != nil {
		if err := writeYAML(filepath.Join(*out, "alertmanager.yml"), config); err != nil {
			return err
		}
	}
	cr := object{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "Alertmanager",
		"metadata":   object{"name": "kube-prometheus-stack-alertmanager", "namespace": "monitoring"},
		"spec":       crSpec,
	}
	if err := writeYAML(filepath.Join(*out, "alertmanager.yaml"), cr); err != nil {
		return err
	}
	fmt.Printf("deploycheck: %s: sidecar OK\n", file)
	return nil
}

func checkReceiver(p *problems, config object) {
	found := false
	for _, r := range list(config, "receivers") {
		for _, wc := range list(r, "webhook_configs") {
			url := str(wc, "url")
			if !slices.Contains(webhookURLs, url) {
				continue
			}
			found = true
			if get(wc, "send_resolved") != true {
				p.addf("receiver %s: send_resolved must be true", str(r, "name"))
			}
		}
	}
	if !found {
		p.addf("alertmanager.config has no webhook_configs with url %s", strings.Join(webhookURLs, " or "))
	}
}

var invalidDNS1123 = regexp.MustCompile(`[^a-z0-9-]`)

// secretVolumeName is the volume name prometheus-operator gives alertmanagerSpec.secrets
// entries ("secret-" and the sanitized Secret name).
func secretVolumeName(secret string) string {
	n := strings.Trim(invalidDNS1123.ReplaceAllString(strings.ToLower("secret-"+secret), "-"), "-")
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

func checkSidecarPod(p *problems, amSpec object, rules containerRules) {
	// Volumes the pod will have: the operator's Secret volumes and storage volume, and
	// the spec's own volumes.
	volumes := map[string]string{} // name -> kind
	secretMounts := map[string]string{}
	for _, s := range list(amSpec, "secrets") {
		secret, _ := s.(string)
		volumes[secretVolumeName(secret)] = "secret"
		secretMounts[secretVolumeName(secret)] = "/etc/alertmanager/secrets/" + secret
	}
	if get(amSpec, "storage.volumeClaimTemplate") != nil {
		n := str(amSpec, "storage.volumeClaimTemplate.metadata.name")
		if n == "" {
			p.addf("storage.volumeClaimTemplate.metadata.name must be set so the sidecar can mount the volume by a fixed name")
		} else {
			volumes[n] = "storage"
		}
	}
	for _, v := range list(amSpec, "volumes") {
		kind := "other"
		switch {
		case get(v, "emptyDir") != nil:
			kind = "emptyDir"
		case get(v, "persistentVolumeClaim") != nil:
			kind = "pvc"
		}
		volumes[str(v, "name")] = kind
	}

	replicas := 1
	if r, ok := get(amSpec, "replicas").(int); ok {
		replicas = r
	}
	var found bool
	for _, c := range list(amSpec, "containers") {
		co, _ := c.(object)
		if str(co, "name") != "coc-bridge" {
			continue
		}
		found = true
		where := "alertmanagerSpec.containers[coc-bridge]"
		// The pod security context is Alertmanager's; the container must carry its own.
		env := rules.checkContainer(p, where, object{}, co)
		mounts := map[string]string{}
		for _, m := range list(co, "volumeMounts") {
			vn, path := str(m, "name"), str(m, "mountPath")
			mounts[path] = vn
			kind, ok := volumes[vn]
			switch {
			case !ok:
				p.addf("%s: volumeMount %s names no volume of the pod (alertmanagerSpec.secrets, storage or volumes)", where, vn)
			case kind == "secret" && path != secretMounts[vn]:
				p.addf("%s: mount the Secret volume %s at %s, like Alertmanager does", where, vn, secretMounts[vn])
			case path == "/tmp" && kind != "emptyDir":
				p.addf("%s: /tmp must be an emptyDir volume", where)
			}
		}
		if store := env["COC_BRIDGE_STORE"]; store != nil {
			if replicas > 1 {
				p.addf("%s: %d Alertmanager replicas with SQLite: each sidecar would have its own database and HA peers would create duplicate tickets; use PostgreSQL (COC_BRIDGE_STORE_FILE) shared by all sidecars", where, replicas)
			}
			path := str(store, "value")
			for mp, vn := range mounts {
				if strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/") && volumes[vn] != "storage" && volumes[vn] != "pvc" {
					p.addf("%s: the SQLite file %s is on volume %s, which does not persist; use the storage volume or a PVC", where, path, vn)
				}
			}
		}
	}
	if !found {
		p.addf("alertmanagerSpec.containers has no container named coc-bridge")
	}
}
