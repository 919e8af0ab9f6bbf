package main

// A reader for the block-style YAML subset that kind writes for its load balancer (envoy.yaml,
// lds.yaml, cds.yaml): nested mappings and sequences by indentation, "- key: value" items, plain,
// single- and double-quoted scalars, empty flow collections ([] and {}), flat flow sequences and
// comments. Anchors, tags, multi-line scalars and multiple documents are refused with an error
// naming the line, so a config outside the subset fails loudly instead of being misread.

import (
	"fmt"
	"strconv"
	"strings"
)

type yamlLine struct {
	num    int
	indent int
	text   string
}

type yamlParser struct {
	lines []yamlLine
	i     int
}

// parseYAML returns map[string]any, []any, string or nil.
func parseYAML(src string) (any, error) {
	p := &yamlParser{}
	for n, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		if lead := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]; strings.ContainsRune(lead, '\t') {
			return nil, fmt.Errorf("line %d: tab in indentation", n+1)
		}
		text := strings.TrimRight(stripComment(raw), " \t")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || (trimmed == "---" && len(p.lines) == 0) {
			continue
		}
		if trimmed == "---" || trimmed == "..." {
			return nil, fmt.Errorf("line %d: more than one YAML document is not supported", n+1)
		}
		p.lines = append(p.lines, yamlLine{num: n + 1, indent: len(text) - len(trimmed), text: trimmed})
	}
	if len(p.lines) == 0 {
		return nil, nil
	}
	v, err := p.node(p.lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		l := p.lines[p.i]
		return nil, fmt.Errorf("line %d: unexpected indentation", l.num)
	}
	return v, nil
}

// stripComment drops a " #" comment outside quotes.
func stripComment(s string) string {
	var quote rune
	escaped := false
	for i, r := range s {
		switch {
		case escaped:
			escaped = false
		case quote == '"' && r == '\\':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yamlParser) node(indent int) (any, error) {
	if isSeqItem(p.lines[p.i].text) {
		return p.sequence(indent)
	}
	if _, _, ok, err := splitKey(p.lines[p.i]); err != nil {
		return nil, err
	} else if ok {
		return p.mapping(indent)
	}
	l := p.lines[p.i]
	p.i++
	return scalar(l)
}

func (p *yamlParser) sequence(indent int) ([]any, error) {
	out := []any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimPrefix(l.text, "-")
		content := strings.TrimLeft(rest, " ")
		if content == "" {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err := p.node(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, nil)
			}
			continue
		}
		// The item's content starts a node at its own column; later lines of a mapping item align there.
		p.lines[p.i] = yamlLine{num: l.num, indent: indent + 1 + len(rest) - len(content), text: content}
		v, err := p.node(p.lines[p.i].indent)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *yamlParser) mapping(indent int) (map[string]any, error) {
	out := map[string]any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && !isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		key, value, ok, err := splitKey(l)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("line %d: expected \"key: value\", got %q", l.num, l.text)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		p.i++
		if value != "" {
			v, err := scalar(yamlLine{num: l.num, text: value})
			if err != nil {
				return nil, err
			}
			out[key] = v
			continue
		}
		// A nested block: deeper lines, or a sequence at the key's own indentation (legal YAML).
		if p.i < len(p.lines) && (p.lines[p.i].indent > indent || (p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text))) {
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			out[key] = v
		} else {
			out[key] = nil
		}
	}
	if p.i < len(p.lines) && p.lines[p.i].indent > indent {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].num)
	}
	return out, nil
}

// splitKey splits "key: value" (the key plain or quoted); ok is false for a line that is no mapping entry.
func splitKey(l yamlLine) (key, value string, ok bool, err error) {
	t := l.text
	if t[0] == '"' || t[0] == '\'' {
		end := closingQuote(t)
		if end < 0 {
			return "", "", false, fmt.Errorf("line %d: unterminated quoted string", l.num)
		}
		rest := t[end+1:]
		if rest != ":" && !strings.HasPrefix(rest, ": ") {
			return "", "", false, nil
		}
		k, err := scalar(yamlLine{num: l.num, text: t[:end+1]})
		if err != nil {
			return "", "", false, err
		}
		return k.(string), strings.TrimSpace(strings.TrimPrefix(rest, ":")), true, nil
	}
	if strings.HasSuffix(t, ":") && !strings.Contains(t, ": ") {
		return strings.TrimSuffix(t, ":"), "", true, nil
	}
	i := strings.Index(t, ": ")
	if i < 0 || strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return "", "", false, nil
	}
	return t[:i], strings.TrimSpace(t[i+2:]), true, nil
}

func closingQuote(t string) int {
	q := t[0]
	for i := 1; i < len(t); i++ {
		switch {
		case q == '"' && t[i] == '\\':
			i++
		case t[i] == q && q == '\'' && i+1 < len(t) && t[i+1] == '\'':
			i++
		case t[i] == q:
			return i
		}
	}
	return -1
}

func scalar(l yamlLine) (any, error) {
	t := l.text
	switch {
	case t == "[]":
		return []any{}, nil
	case t == "{}":
		return map[string]any{}, nil
	case t == "~" || t == "null":
		return nil, nil
	case strings.HasPrefix(t, "&") || strings.HasPrefix(t, "*") || strings.HasPrefix(t, "!") || t == "|" || t == ">" ||
		strings.HasPrefix(t, "|") || strings.HasPrefix(t, ">"):
		return nil, fmt.Errorf("line %d: anchors, aliases, tags and block scalars are not supported (%q)", l.num, t)
	case strings.HasPrefix(t, "{"):
		return nil, fmt.Errorf("line %d: flow mappings are not supported (%q)", l.num, t)
	case strings.HasPrefix(t, "["):
		if !strings.HasSuffix(t, "]") {
			return nil, fmt.Errorf("line %d: unterminated flow sequence", l.num)
		}
		out := []any{}
		for _, part := range strings.Split(t[1:len(t)-1], ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			v, err := scalar(yamlLine{num: l.num, text: part})
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case t[0] == '"':
		if closingQuote(t) != len(t)-1 {
			return nil, fmt.Errorf("line %d: bad double-quoted string %s", l.num, t)
		}
		s, err := strconv.Unquote(t)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad double-quoted string %s: %v", l.num, t, err)
		}
		return s, nil
	case t[0] == '\'':
		if closingQuote(t) != len(t)-1 {
			return nil, fmt.Errorf("line %d: bad single-quoted string %s", l.num, t)
		}
		return strings.ReplaceAll(t[1:len(t)-1], "''", "'"), nil
	}
	return t, nil
}
