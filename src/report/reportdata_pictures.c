/* reportdata_pictures.c - the drawings of the report that are SVG text: the architecture
 * (d.diagram, Pregunta 2) with one more drawing per nested model. */
#include "report/reportdata_parts.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/diagram.h"

/* Adds an SVG document (taken) as the figure 'name'. */
void tlr_rd_add_svg(tlr_report_content *c, const char *name, char *svg)
{
    c->figures = tlr_xrealloc(c->figures, (size_t)(c->n_figures + 1) * sizeof *c->figures);
    c->figures[c->n_figures++] = (tlr_figure){ tlr_xstrdup(name), (unsigned char *)svg,
                                               strlen(svg), NULL, TLR_OK };
}

/* The drawings of the nested models below 'm' (path prefix 'prefix'), depth first. */
static void nested_diagrams(tlr_json *arr, const tlr_model *m, const char *prefix,
                            tlr_report_content *c)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->op != TLR_OP_MODEL || !l->inner)
            continue;
        char *path = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        char *sl = tlr_rd_slug(path);
        char *name = tlr_xasprintf("img/architecture-%s.svg", sl);
        tlr_rd_add_svg(c, name, tlr_diagram_svg(l->inner));
        tlr_json *e = tlr_json_push_object(arr);
        tlr_json_add_string(e, "name", path);
        tlr_json_add_string(e, "class", l->class_name);
        tlr_json_add_string(e, "image", name);
        nested_diagrams(arr, l->inner, path, c);
        free(name);
        free(sl);
        free(path);
    }
}

void tlr_rd_diagram_section(tlr_json *d, const tlr_model *m, tlr_report_content *c)
{
    static const char name[] = "img/architecture.svg";
    tlr_json *dg = tlr_json_add_object(d, "diagram");
    tlr_json_add_bool(dg, "present", m->n_layers > 0);
    if (m->n_layers == 0)
        return;
    tlr_rd_add_svg(c, name, tlr_diagram_svg(m));
    tlr_json_add_string(dg, "image", name);
    tlr_json *arr = tlr_json_add_array(dg, "nested");
    nested_diagrams(arr, m, "", c);
    tlr_json_add_bool(dg, "has_nested", tlr_json_size(arr) > 0);
}
