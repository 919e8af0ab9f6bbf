package main

// The parts of Envoy's v3 configuration kind uses for its cluster load balancer: a bootstrap that
// names file-based dynamic resources (path_config_source for LDS and CDS) and an admin address;
// listeners whose only filter is tcp_proxy to a named cluster; clusters of type STRICT_DNS or
// STATIC with round-robin balancing, a connect timeout and an HTTP(S) health check. Anything the
// proxy cannot honour (another filter, another cluster type or balancing policy, a health check
// other than HTTP) is an error, so the old config stays and the log says why.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type bootstrap struct {
	CDSPath   string
	LDSPath   string
	AdminAddr string // host:port, empty when there is no admin section
}

type listener struct {
	Name    string
	Addr    string // host:port to listen on
	Cluster string
}

type endpoint struct {
	Host string
	Port int
}

type healthCheck struct {
	Timeout            time.Duration
	Interval           time.Duration
	UnhealthyThreshold int
	HealthyThreshold   int
	Path               string
	TLS                bool
}

type cluster struct {
	Name           string
	Type           string // STRICT_DNS or STATIC
	ConnectTimeout time.Duration
	DNSRefresh     time.Duration
	IPv4First      bool
	Endpoints      []endpoint
	Health         *healthCheck
}

func readYAMLFile(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := parseYAML(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// get walks mapping keys; it returns nil when one is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func intOr(v any, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	n, err := strconv.Atoi(str(v))
	if err != nil {
		return 0, fmt.Errorf("not a whole number: %v", v)
	}
	return n, nil
}

// durationOr reads a protobuf JSON duration ("0.25s", "3s") or a Go one ("250ms").
func durationOr(v any, def time.Duration) (time.Duration, error) {
	if v == nil {
		return def, nil
	}
	s := str(v)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("not a duration: %v", v)
}

func socketAddr(v any) (string, int, error) {
	sa := get(v, "socket_address")
	host := str(get(sa, "address"))
	port, err := intOr(get(sa, "port_value"), -1)
	if err != nil || host == "" || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("socket_address needs address and port_value, got %v", sa)
	}
	return host, port, nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func parseBootstrap(v any) (bootstrap, error) {
	var b bootstrap
	b.CDSPath = str(get(v, "dynamic_resources", "cds_config", "path_config_source", "path"))
	if b.CDSPath == "" {
		b.CDSPath = str(get(v, "dynamic_resources", "cds_config", "path"))
	}
	b.LDSPath = str(get(v, "dynamic_resources", "lds_config", "path_config_source", "path"))
	if b.LDSPath == "" {
		b.LDSPath = str(get(v, "dynamic_resources", "lds_config", "path"))
	}
	if b.CDSPath == "" || b.LDSPath == "" {
		return b, fmt.Errorf("the bootstrap must name file sources for both cds_config and lds_config (path_config_source.path); static resources are not supported")
	}
	if a := get(v, "admin", "address"); a != nil {
		host, port, err := socketAddr(a)
		if err != nil {
			return b, fmt.Errorf("admin.address: %w", err)
		}
		b.AdminAddr = joinHostPort(host, port)
	}
	return b, nil
}

func resources(v any, wantType string) ([]map[string]any, error) {
	out := []map[string]any{}
	for i, r := range list(get(v, "resources")) {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resources[%d] is not a mapping", i)
		}
		if t := str(m["@type"]); t != wantType {
			return nil, fmt.Errorf("resources[%d]: @type %q, want %q", i, t, wantType)
		}
		out = append(out, m)
	}
	if get(v, "resources") != nil && list(get(v, "resources")) == nil {
		return nil, fmt.Errorf("resources is not a list")
	}
	return out, nil
}

const (
	listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	clusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	tcpProxyType = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
	tlsType      = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
)

func parseListeners(v any) ([]listener, error) {
	rs, err := resources(v, listenerType)
	if err != nil {
		return nil, err
	}
	var out []listener
	for _, r := range rs {
		l := listener{Name: str(r["name"])}
		host, port, err := socketAddr(r["address"])
		if err != nil {
			return nil, fmt.Errorf("listener %q: %w", l.Name, err)
		}
		l.Addr = joinHostPort(host, port)
		chains := list(r["filter_chains"])
		if len(chains) != 1 {
			return nil, fmt.Errorf("listener %q: exactly one filter chain is supported, got %d", l.Name, len(chains))
		}
		filters := list(get(chains[0], "filters"))
		if len(filters) != 1 || str(get(filters[0], "typed_config", "@type")) != tcpProxyType {
			return nil, fmt.Errorf("listener %q: only a single tcp_proxy filter is supported", l.Name)
		}
		l.Cluster = str(get(filters[0], "typed_config", "cluster"))
		if l.Cluster == "" {
			return nil, fmt.Errorf("listener %q: tcp_proxy names no cluster", l.Name)
		}
		out = append(out, l)
	}
	return out, nil
}

func parseClusters(v any) ([]cluster, error) {
	rs, err := resources(v, clusterType)
	if err != nil {
		return nil, err
	}
	var out []cluster
	for _, r := range rs {
		c, err := parseCluster(r)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", str(r["name"]), err)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCluster(r map[string]any) (cluster, error) {
	c := cluster{Name: str(r["name"]), Type: str(r["type"])}
	if c.Name == "" {
		return c, fmt.Errorf("no name")
	}
	if c.Type == "" {
		c.Type = "STATIC"
	}
	if c.Type != "STRICT_DNS" && c.Type != "STATIC" {
		return c, fmt.Errorf("type %s is not supported (STRICT_DNS or STATIC)", c.Type)
	}
	if p := str(r["lb_policy"]); p != "" && p != "ROUND_ROBIN" {
		return c, fmt.Errorf("lb_policy %s is not supported (ROUND_ROBIN)", p)
	}
	var err error
	if c.ConnectTimeout, err = durationOr(r["connect_timeout"], 5*time.Second); err != nil {
		return c, fmt.Errorf("connect_timeout: %w", err)
	}
	if c.DNSRefresh, err = durationOr(r["dns_refresh_rate"], 5*time.Second); err != nil {
		return c, fmt.Errorf("dns_refresh_rate: %w", err)
	}
	c.IPv4First = str(r["dns_lookup_family"]) != "V6_ONLY" && str(r["dns_lookup_family"]) != "AUTO"
	for _, group := range list(get(r, "load_assignment", "endpoints")) {
		for _, e := range list(get(group, "lb_endpoints")) {
			host, port, err := socketAddr(get(e, "endpoint", "address"))
			if err != nil {
				return c, fmt.Errorf("endpoint: %w", err)
			}
			c.Endpoints = append(c.Endpoints, endpoint{Host: host, Port: port})
		}
	}
	hcs := list(r["health_checks"])
	if len(hcs) > 1 {
		return c, fmt.Errorf("only one health check is supported, got %d", len(hcs))
	}
	if len(hcs) == 1 {
		hc, err := parseHealthCheck(hcs[0], r)
		if err != nil {
			return c, fmt.Errorf("health_checks: %w", err)
		}
		c.Health = hc
	}
	return c, nil
}

func parseHealthCheck(v any, clusterCfg map[string]any) (*healthCheck, error) {
	hc := &healthCheck{}
	var err error
	if hc.Timeout, err = durationOr(get(v, "timeout"), 0); err != nil || hc.Timeout <= 0 {
		return nil, fmt.Errorf("timeout must be a positive duration")
	}
	if hc.Interval, err = durationOr(get(v, "interval"), 0); err != nil || hc.Interval <= 0 {
		return nil, fmt.Errorf("interval must be a positive duration")
	}
	if hc.UnhealthyThreshold, err = intOr(get(v, "unhealthy_threshold"), 1); err != nil || hc.UnhealthyThreshold < 1 {
		return nil, fmt.Errorf("unhealthy_threshold must be ≥ 1")
	}
	if hc.HealthyThreshold, err = intOr(get(v, "healthy_threshold"), 1); err != nil || hc.HealthyThreshold < 1 {
		return nil, fmt.Errorf("healthy_threshold must be ≥ 1")
	}
	h := get(v, "http_health_check")
	if h == nil {
		return nil, fmt.Errorf("only http_health_check is supported")
	}
	hc.Path = str(get(h, "path"))
	if hc.Path == "" {
		hc.Path = "/"
	}
	// TLS for the check: the cluster's own transport socket, or the transport_socket_matches entry
	// whose match equals the check's transport_socket_match_criteria.
	if str(get(clusterCfg, "transport_socket", "typed_config", "@type")) == tlsType {
		hc.TLS = true
	}
	if crit, ok := get(v, "transport_socket_match_criteria").(map[string]any); ok {
		for _, m := range list(clusterCfg["transport_socket_matches"]) {
			if sameStrings(get(m, "match"), crit) && str(get(m, "transport_socket", "typed_config", "@type")) == tlsType {
				hc.TLS = true
			}
		}
	}
	return hc, nil
}

func sameStrings(a any, b map[string]any) bool {
	am, ok := a.(map[string]any)
	if !ok || len(am) != len(b) {
		return false
	}
	for k, v := range b {
		if str(am[k]) != str(v) {
			return false
		}
	}
	return true
}
