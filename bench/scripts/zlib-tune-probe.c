/* zlib-tune-probe.c: the series' zlib page codec in C (deflateInit2 level 1 once, per 4 KiB page deflateReset and one
 * deflate(Z_FINISH)), with windowBits, memLevel, deflateTune(good, lazy, nice, chain) and strategy from the command line;
 * prints the bytes written and the best of 3 passes in MB/s. Used to ask whether any zlib setting makes level 1 faster
 * with the same bytes (issue 18's zlib row; docs/PERFORMANCE.md "Codec settings probed").
 * Build: gcc -O2 bench/scripts/zlib-tune-probe.c -o /tmp/zp -lz
 * Run:   /tmp/zp PAGES WINDOWBITS MEMLEVEL GOOD LAZY NICE CHAIN [STRATEGY]   (CHAIN 0: no deflateTune) */
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int c,char**v){
 FILE*f=fopen(v[1],"rb");fseek(f,0,2);long n=ftell(f);fseek(f,0,0);unsigned char*b=malloc(n);fread(b,1,n,f);
 int wb=atoi(v[2]),ml=atoi(v[3]),good=atoi(v[4]),lazy=atoi(v[5]),nice=atoi(v[6]),chain=atoi(v[7]),strat=c>8?atoi(v[8]):0;
 z_stream s;memset(&s,0,sizeof s);deflateInit2(&s,1,Z_DEFLATED,wb,ml,strat);
 if(chain>0)deflateTune(&s,good,lazy,nice,chain);
 unsigned char out[8192];long tot=0;double best=1e9;
 for(int r=0;r<3;r++){tot=0;double t0=now();
 for(long p=0;p<n;p+=4096){deflateReset(&s);s.next_in=b+p;s.avail_in=4096;s.next_out=out;s.avail_out=sizeof out;deflate(&s,Z_FINISH);tot+=sizeof out-s.avail_out;}
 double t=now()-t0;if(t<best)best=t;}
 printf("wb=%d ml=%d tune=%d,%d,%d,%d strat=%d: %ld bytes, %.1f MB/s\n",wb,ml,good,lazy,nice,chain,strat,tot,n/best/1e6);
}
