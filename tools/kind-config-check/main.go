// Command kind-config-check validates a kind cluster configuration file
// against the v1alpha4 config types of sigs.k8s.io/kind, the same types that
// `kind create cluster --config` decodes. It decodes strictly (an unknown or
// misspelt field is an error, as in kind itself), applies kind's defaults and
// then checks the rules kind enforces before it creates a cluster: a valid
// cluster name, known node roles, at least one control-plane node, valid
// subnets, ports and port mappings without duplicate host bindings.
//
// Usage: kind-config-check FILE
//
// On success it prints one JSON line with the decoded, defaulted config so
// callers can assert on it; on failure it prints every problem and exits 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

const (
	expectedKind       = "Cluster"
	expectedAPIVersion = "kind.x-k8s.io/v1alpha4"
)

// clusterNamePattern is the pattern kind v0.33.0 accepts for cluster names.
var clusterNamePattern = regexp.MustCompile(`^[a-z0-9.-]+$`)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kind-config-check FILE")
		os.Exit(2)
	}
	cluster, err := loadCluster(os.Args[1])
	if err == nil {
		err = validateCluster(cluster)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: invalid kind config:\n%v\n", os.Args[1], err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(cluster); err != nil {
		fmt.Fprintf(os.Stderr, "encoding the decoded config failed: %v\n", err)
		os.Exit(1)
	}
}

// loadCluster decodes FILE strictly into the v1alpha4 types and applies kind's defaults.
func loadCluster(path string) (*v1alpha4.Cluster, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	var meta struct {
		Kind       string `yaml:"kind"`
		APIVersion string `yaml:"apiVersion"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	if meta.Kind != expectedKind || meta.APIVersion != expectedAPIVersion {
		return nil, fmt.Errorf("kind %q, apiVersion %q: expected kind %q and apiVersion %q",
			meta.Kind, meta.APIVersion, expectedKind, expectedAPIVersion)
	}

	cluster := &v1alpha4.Cluster{}
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	if err := decoder.Decode(cluster); err != nil {
		return nil, fmt.Errorf("strict decode into v1alpha4.Cluster failed: %w", err)
	}
	var extra any
	if err := decoder.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file has more than one YAML document; kind reads only one")
	}
	v1alpha4.SetDefaultsCluster(cluster)
	return cluster, nil
}

// validateCluster returns every problem kind would reject the config for.
func validateCluster(cluster *v1alpha4.Cluster) error {
	var problems []error
	if !clusterNamePattern.MatchString(cluster.Name) {
		problems = append(problems, fmt.Errorf("name %q must match %s", cluster.Name, clusterNamePattern))
	}
	problems = append(problems, validateNetworking(cluster.Networking)...)

	controlPlanes := 0
	for i, node := range cluster.Nodes {
		switch node.Role {
		case v1alpha4.ControlPlaneRole:
			controlPlanes++
		case v1alpha4.WorkerRole:
		default:
			problems = append(problems, fmt.Errorf("nodes[%d]: role %q must be control-plane or worker", i, node.Role))
		}
		if node.Image == "" {
			problems = append(problems, fmt.Errorf("nodes[%d]: image is required", i))
		}
		for _, err := range validatePortMappings(node.ExtraPortMappings) {
			problems = append(problems, fmt.Errorf("nodes[%d]: %w", i, err))
		}
	}
	if controlPlanes == 0 {
		problems = append(problems, errors.New("at least one control-plane node is required"))
	}
	return errors.Join(problems...)
}

func validateNetworking(networking v1alpha4.Networking) []error {
	var problems []error
	switch networking.IPFamily {
	case v1alpha4.IPv4Family, v1alpha4.IPv6Family, v1alpha4.DualStackFamily:
	default:
		problems = append(problems, fmt.Errorf("networking.ipFamily %q must be ipv4, ipv6 or dual", networking.IPFamily))
	}
	if networking.APIServerPort != 0 {
		if err := validatePort(networking.APIServerPort); err != nil {
			problems = append(problems, fmt.Errorf("networking.apiServerPort: %w", err))
		}
	}
	if net.ParseIP(networking.APIServerAddress) == nil {
		problems = append(problems, fmt.Errorf("networking.apiServerAddress %q is not an IP address", networking.APIServerAddress))
	}
	for field, value := range map[string]string{"podSubnet": networking.PodSubnet, "serviceSubnet": networking.ServiceSubnet} {
		for _, cidr := range strings.Split(value, ",") {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
				problems = append(problems, fmt.Errorf("networking.%s %q is not a CIDR", field, value))
			}
		}
	}
	switch networking.KubeProxyMode {
	// "none" (no kube-proxy) has no constant in the public v1alpha4 package but kind accepts it.
	case v1alpha4.IPTablesProxyMode, v1alpha4.IPVSProxyMode, v1alpha4.NFTablesProxyMode, "none":
	default:
		problems = append(problems, fmt.Errorf("networking.kubeProxyMode %q is not a known mode", networking.KubeProxyMode))
	}
	return problems
}

// validatePortMappings checks ports and rejects two mappings that bind the same
// host address, port and protocol (0.0.0.0 overlaps every address).
func validatePortMappings(mappings []v1alpha4.PortMapping) []error {
	var problems []error
	bound := map[string][]string{}
	for i, mapping := range mappings {
		if err := validatePort(mapping.ContainerPort); err != nil || mapping.ContainerPort <= 0 {
			problems = append(problems, fmt.Errorf("extraPortMappings[%d].containerPort %d must be 1-65535", i, mapping.ContainerPort))
		}
		if err := validatePort(mapping.HostPort); err != nil {
			problems = append(problems, fmt.Errorf("extraPortMappings[%d].hostPort: %w", i, err))
		}
		if mapping.HostPort <= 0 {
			continue
		}

		address := mapping.ListenAddress
		if address == "" || address == "::" {
			address = "0.0.0.0"
		}
		if net.ParseIP(address) == nil {
			problems = append(problems, fmt.Errorf("extraPortMappings[%d].listenAddress %q is not an IP address", i, mapping.ListenAddress))
			continue
		}
		protocol := mapping.Protocol
		if protocol == "" {
			protocol = v1alpha4.PortMappingProtocolTCP
		}
		key := fmt.Sprintf("%d/%s", mapping.HostPort, protocol)
		for _, other := range bound[key] {
			if other == address || other == "0.0.0.0" || address == "0.0.0.0" {
				problems = append(problems, fmt.Errorf("extraPortMappings[%d]: %s:%s is already bound by another mapping", i, address, key))
				break
			}
		}
		bound[key] = append(bound[key], address)
	}
	return problems
}

func validatePort(port int32) error {
	if port < -1 || port > 65535 {
		return fmt.Errorf("port %d is outside -1..65535", port)
	}
	return nil
}
