/*
 * version.h - the version string; the Makefile passes -DTM_VERSION from
 * the VERSION file.
 */
#ifndef TM_VERSION_H
#define TM_VERSION_H

#ifndef TM_VERSION
#define TM_VERSION "dev"
#endif

#endif
