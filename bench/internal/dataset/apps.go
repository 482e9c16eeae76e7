package dataset

import (
	"strconv"
	"strings"
)

// Application and configuration files: never mutated.

type appMeta struct {
	path string
	kind string
	size int
}

func appCount(c Config) int { return c.scaled(5_000, 10) }

func appFile(c Config, i int) appMeta {
	r := newRNG(c.Seed, hashString("app"), uint64(i))
	mod := pick(&r, appModules)
	name := pick(&r, identWords) + pick(&r, identWords) + strconv.Itoa(i)
	var m appMeta
	m.size = int(r.logUniform(300, 30000))
	u := r.float()
	switch {
	case u < 0.35:
		m.kind, m.path = "php", "app/spse/php/"+mod+"/"+strings.ToLower(name)+".php"
	case u < 0.60:
		m.kind, m.path = "java", "app/spse/src/main/java/id/go/lkpp/spse/"+mod+"/"+name+".java"
	case u < 0.70:
		m.kind, m.path = "xml", "app/spse/WEB-INF/"+mod+"/"+strings.ToLower(name)+".xml"
	case u < 0.80:
		m.kind, m.path = "properties", "app/spse/conf/"+mod+"/"+strings.ToLower(name)+".properties"
	case u < 0.92:
		m.kind, m.path = "js", "app/spse/public/js/"+mod+"/"+strings.ToLower(name)+".js"
	default:
		m.kind, m.path = "html", "app/spse/views/"+mod+"/"+strings.ToLower(name)+".html"
	}
	return m
}

func ident(r *rng) string {
	return pick(r, verbs) + pick(r, identWords) + pickSkewed(r, identWords)
}

func appContent(c Config, i int) []byte {
	m := appFile(c, i)
	r := newRNG(c.Seed, hashString("app-bytes"), uint64(i))
	b := make([]byte, 0, m.size+256)
	switch m.kind {
	case "php":
		b = append(b, "<?php\n/**\n * SPSE - Sistem Pengadaan Secara Elektronik\n * (c) LKPP\n */\n\n"...)
	case "java":
		b = append(b, "package id.go.lkpp.spse."...)
		b = append(b, m.path[strings.LastIndex(m.path[:strings.LastIndex(m.path, "/")], "/")+1:strings.LastIndex(m.path, "/")]...)
		b = append(b, ";\n\nimport java.util.List;\nimport java.util.Date;\nimport play.db.jpa.Model;\n\npublic class "...)
		b = append(b, m.path[strings.LastIndex(m.path, "/")+1:len(m.path)-5]...)
		b = append(b, " extends Model {\n\n"...)
	case "xml":
		b = append(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<beans xmlns=\"http://www.springframework.org/schema/beans\">\n"...)
	case "html":
		b = append(b, "#{extends 'main.html' /}\n#{set title:'SPSE' /}\n<div class=\"container\">\n"...)
	}
	for len(b) < m.size {
		id := ident(&r)
		switch m.kind {
		case "php":
			b = append(b, "function "+id+"($id, $tahun = null) {\n    $sql = \"SELECT * FROM "+pick(&r, []string{"paket", "peserta", "dok_lelang", "audit_log"})+" WHERE pkt_id = ?\";\n    $rows = $this->db->query($sql, array($id))->result();\n    if (empty($rows)) {\n        return null;\n    }\n    return $rows;\n}\n\n"...)
		case "java":
			b = append(b, "    public List<"+pick(&r, identWords)+"> "+id+"(Long id) {\n        // "...)
			b = appendWords(b, &r, r.rangeInt(3, 9))
			b = append(b, "\n        return find(\"pkt_id = ?\", id).fetch();\n    }\n\n"...)
		case "xml":
			b = append(b, "  <bean id=\""+id+"\" class=\"id.go.lkpp.spse."+pick(&r, appModules)+"."+pick(&r, identWords)+"\">\n    <property name=\""+strings.ToLower(pick(&r, identWords))+"\" value=\""...)
			b = strconv.AppendInt(b, int64(r.intn(1000)), 10)
			b = append(b, "\"/>\n  </bean>\n"...)
		case "properties":
			b = append(b, "spse."+pick(&r, appModules)+"."+strings.ToLower(pick(&r, identWords))+"="...)
			b = appendWords(b, &r, r.rangeInt(1, 5))
			b = append(b, '\n')
		case "js":
			b = append(b, "function "+id+"(el) {\n    var data = $(el).data('"+strings.ToLower(pick(&r, identWords))+"');\n    $.post('/"+pick(&r, appModules)+"/"+strings.ToLower(id)+"', data, function(res) { tampilkan(res); });\n}\n\n"...)
		default:
			b = append(b, "  <div class=\"row\"><label>&{'"+strings.ToLower(id)+"'}</label> ${"+strings.ToLower(pick(&r, identWords))+"?.nama}</div>\n"...)
		}
	}
	switch m.kind {
	case "java":
		b = append(b, "}\n"...)
	case "xml":
		b = append(b, "</beans>\n"...)
	case "html":
		b = append(b, "</div>\n"...)
	}
	return b
}
