/* version.h - tlreport's version, written into report.json and printed by --version. */
#ifndef TLR_VERSION_H
#define TLR_VERSION_H

#define TLR_VERSION "0.1.0"

#endif
