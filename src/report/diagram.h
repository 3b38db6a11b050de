/* diagram.h - the architecture of a model as an SVG drawing written by hand (no Graphviz):
 * one box per layer (name, class, output shape, parameters), lines along the connections,
 * laid out in ranks (a layer's rank is its longest path from an input).  Long models wrap
 * into several columns so that the text keeps its size.  A nested model is one box (its
 * class with its layer count in parentheses); its own drawing is a separate document.
 * No prose inside: the words around it live in the templates.  Deterministic. */
#ifndef TLR_DIAGRAM_H
#define TLR_DIAGRAM_H

#include "keras/model.h"

/* The drawing of the layers of 'm' (not of its nested models' insides) as an SVG document.
 * Free with free(). */
char *tlr_diagram_svg(const tlr_model *m);

#endif
