/* main.c - placeholder until cli lands */
#include <stdio.h>
int main(void) { puts("tlreport"); return 0; }
