/* grid.h - tensors to tiled 8-bit images: kernel grids and feature-map grids (no file I/O).
 *
 * Tiles sit on a regular grid with 'gutter' pixels of a background gray between them and no
 * outer margin: tile (row r, col c) has its top-left pixel at
 *     x = c * (tile_w + gutter),  y = r * (tile_h + gutter)
 * and the image is cols * tile_w + (cols - 1) * gutter wide (likewise for the height).
 *
 * Values become 8-bit levels by one of the normalisations below, rounded to nearest with
 * halves away from zero (C lround):
 *   min-max    p = lround((v - lo) / (hi - lo) * 255), so [[0,1],[2,3]] gives 0, 85, 170, 255
 *   symmetric  p = 128 + lround(v / m * 127), m = max |v| over the layer: 0 -> 128, m -> 255,
 *              -m -> 1 (equal magnitudes stay equally far from mid-gray)
 * Ranges are taken over finite values only.  NaN and +-Inf never crash a render: each is drawn
 * as mid-gray 128 in a gray image or magenta (255, 0, 255) in an RGB one, and counted.  A tile
 * whose finite values are all equal (or which has none) is "flat": a constant kernel under
 * per-kernel min-max is drawn mid-gray 128, and a dead feature map is drawn in 'dead_gray'. */
#ifndef TLR_GRID_H
#define TLR_GRID_H

#include <stdint.h>

#include "base/err.h"
#include "base/image.h"

/* Renders bigger than this many pixels fail with TLR_E_LIMIT instead of allocating. */
#define TLR_GRID_MAX_PIXELS ((int64_t)1 << 26)
/* upscale == 0 picks the largest factor that keeps the longer side of a map <= this. */
#define TLR_GRID_AUTO_TILE 32

typedef enum {
    TLR_GRID_NORM_KERNEL = 0, /* min-max per kernel (per filter for the RGB grid) */
    TLR_GRID_NORM_LAYER,      /* min-max over the whole kernel tensor */
    TLR_GRID_NORM_SYMMETRIC   /* 0 -> 128, scaled by max |w| over the whole kernel tensor */
} tlr_grid_norm;

typedef enum { TLR_GRID_GRAY = 0, TLR_GRID_VIRIDIS } tlr_grid_cmap;

typedef struct {
    int x, y;    /* top-left pixel of the tile */
    int filter;  /* output filter (kernel grids), -1 in feature-map grids */
    int channel; /* input channel (gray kernel grid) or feature-map channel; -1 when n/a */
    int flat;    /* all finite values equal, or none finite */
} tlr_grid_tile;

/* Where things were drawn, so the report can label rows and columns around the image. */
typedef struct {
    int rows, cols;       /* grid size in tiles; the last row of a feature grid may be partial */
    int tile_w, tile_h;   /* tile size in pixels */
    int gutter;
    int ntiles;
    tlr_grid_tile *tiles; /* ntiles entries, row-major; owned, see tlr_grid_layout_free */
    int flat;             /* number of flat tiles (constant kernels, dead channels) */
    int64_t nonfinite;    /* NaN/Inf values among the drawn ones */
} tlr_grid_layout;

/* Frees layout->tiles and zeroes the struct (the struct itself is the caller's). */
void tlr_grid_layout_free(tlr_grid_layout *layout);

typedef struct {
    int rows;           /* filters shown, one per grid row; clipped to cout */
    int cols;           /* input channels shown, one per grid column; clipped to cin */
    int cell;           /* pixels per weight (nearest-neighbour upscaling) */
    int gutter;         /* pixels between tiles */
    uint8_t background; /* gutter gray */
    tlr_grid_norm norm;
} tlr_grid_kernel_opts;

/* 10 filters x 20 channels, 8 px cells, 2 px gutters of gray 200, per-kernel min-max. */
tlr_grid_kernel_opts tlr_grid_kernel_defaults(void);

/* Gray grid of a conv kernel: row r shows filter r, column c its weights on input channel c,
 * each kh x kw kernel as one tile.  Returns a 1-channel image (free with tlr_image_free) and
 * fills 'layout' (free with tlr_grid_layout_free; may be NULL), or NULL with 'err' filled. */
tlr_image *tlr_grid_kernels(const float *kernel, // (kh, kw, cin, cout), Keras order
                            int64_t kh, int64_t kw, int64_t cin, int64_t cout,
                            const tlr_grid_kernel_opts *opts, tlr_grid_layout *layout,
                            tlr_err *err);

/* Colour grid for a first layer on RGB input (cin must be 3): one RGB tile per filter, laid out
 * opts->cols per row and at most opts->rows rows; NORM_KERNEL is min-max over the whole filter
 * (all three channels together, so colour balance is kept).  Returns a 3-channel image. */
tlr_image *tlr_grid_kernels_rgb(const float *kernel, // (kh, kw, 3, cout)
                                int64_t kh, int64_t kw, int64_t cin, int64_t cout,
                                const tlr_grid_kernel_opts *opts, tlr_grid_layout *layout,
                                tlr_err *err);

typedef struct {
    int max_channels;   /* channels shown: the first max_channels */
    int per_row;        /* tiles per grid row */
    int upscale;        /* pixels per activation value; 0 = auto (TLR_GRID_AUTO_TILE) */
    int strip_height;   /* tile height in pixels when H == 1 (1-D activations as strips) */
    int gutter;
    uint8_t background; /* gutter gray */
    uint8_t dead_gray;  /* fill of a dead (constant) channel */
    tlr_grid_cmap cmap;
} tlr_grid_fmap_opts;

/* 100 channels, 10 per row, auto upscale, 8 px strips, 2 px gutters of gray 200, dead
 * channels in gray 64, gray colormap. */
tlr_grid_fmap_opts tlr_grid_fmap_defaults(void);

/* Feature-map grid of one image's activation: channel i is tile i (row-major), each map
 * min-max normalised on its own.  A 1-D activation (steps, C) is passed as h = 1, w = steps and
 * drawn as strips; a Dense output (units) as h = 1, w = units, c = 1.  Returns a 1-channel
 * image for TLR_GRID_GRAY and a 3-channel one for TLR_GRID_VIRIDIS. */
tlr_image *tlr_grid_fmaps(const float *act, // (H, W, C)
                          int64_t h, int64_t w, int64_t c, const tlr_grid_fmap_opts *opts,
                          tlr_grid_layout *layout, tlr_err *err);

/* The 256-entry viridis colormap as RGB bytes: entry 0 is #440154, entry 255 #fde725. */
const uint8_t *tlr_grid_viridis(int level);

#endif
