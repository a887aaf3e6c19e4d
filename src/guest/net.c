/* Guest networking: ioctls only (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS,
 * SIOCADDRT), no netlink and no DHCP: the host says what to use. */
#include "net.h"

#include "guest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NET_IFACE "eth0"

int net_parse_cidr(const char *s, unsigned char addr[4], unsigned *prefix)
{
	char buf[48], *slash, *end;
	unsigned long p;
	struct in_addr a;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (!slash[1] || slash[1] == '-' || slash[1] == '+')
		return -EINVAL;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || p < 1 || p > 32)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	memcpy(addr, &a.s_addr, 4);
	*prefix = (unsigned)p;
	return 0;
}

static void set_sin(struct sockaddr *sa, uint32_t be_addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = be_addr;
	memcpy(sa, &sin, sizeof(sin));
}

static int if_up(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

void net_loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	int rc;

	if (fd < 0) {
		glog("socket for lo: %s", strerror(errno));
		return;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	set_sin(&ifr.ifr_addr, htonl(INADDR_LOOPBACK));
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		glog("lo address: %s", strerror(errno));
	rc = if_up(fd, "lo");
	if (rc < 0)
		glog("bring lo up: %s", strerror(-rc));
	close(fd);
}

int net_configure(const struct net_cfg *cfg, char *err, size_t errcap)
{
	unsigned char a[4];
	unsigned prefix;
	uint32_t addr, mask;
	struct in_addr gw = { 0 };
	struct ifreq ifr = { 0 };
	struct rtentry rt;
	int fd, rc;

	if (!cfg->ifaddr[0])
		return 0;
	if (net_parse_cidr(cfg->ifaddr, a, &prefix) < 0) {
		snprintf(err, errcap, "SETUP: bad interface address");
		return -EINVAL;
	}
	if (cfg->gateway[0] && inet_pton(AF_INET, cfg->gateway, &gw) != 1) {
		snprintf(err, errcap, "SETUP: bad gateway address");
		return -EINVAL;
	}
	memcpy(&addr, a, 4);
	mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "network: socket: %s", strerror(-rc));
		return rc;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), NET_IFACE);
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0) {
		rc = -errno;
		snprintf(err, errcap, "network: set %s address: %s", NET_IFACE, strerror(-rc));
		goto out;
	}
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0) {
		rc = -errno;
		snprintf(err, errcap, "network: set %s netmask: %s", NET_IFACE, strerror(-rc));
		goto out;
	}
	rc = if_up(fd, NET_IFACE);
	if (rc < 0) {
		snprintf(err, errcap, "network: bring %s up: %s", NET_IFACE, strerror(-rc));
		goto out;
	}
	if (gw.s_addr) {
		memset(&rt, 0, sizeof(rt));
		set_sin(&rt.rt_dst, INADDR_ANY);
		set_sin(&rt.rt_genmask, INADDR_ANY);
		set_sin(&rt.rt_gateway, gw.s_addr);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = (char *)NET_IFACE;
		if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errcap, "network: default route via %s: %s", cfg->gateway,
				 strerror(-rc));
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Replaces path atomically (a symlink the image ships is replaced too). */
static void write_etc(const char *path, const char *content)
{
	char tmp[64];
	size_t n = strlen(content);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.boxlite-tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		glog("create %s: %s", tmp, strerror(errno));
		return;
	}
	if (write(fd, content, n) != (ssize_t)n) {
		glog("write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return;
	}
	fchmod(fd, 0644);
	close(fd);
	if (rename(tmp, path) < 0) {
		glog("rename %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

void net_write_etc(const struct net_cfg *cfg, const char *hostname)
{
	char buf[1024];
	int n = 0;
	struct stat st;

	if (lstat("/etc", &st) < 0)
		mkdir("/etc", 0755);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (hostname[0]) {
		unsigned p;
		unsigned char ip[4];

		if (cfg->ifaddr[0] && net_parse_cidr(cfg->ifaddr, ip, &p) == 0)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%u.%u.%u.%u\t%s\n", ip[0], ip[1],
				      ip[2], ip[3], hostname);
		else
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "127.0.1.1\t%s\n", hostname);
	}
	if (cfg->host_alias_ip[0])
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\thost.boxlite.internal\n",
			      cfg->host_alias_ip);
	write_etc("/etc/hosts", buf);
	n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_dns; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "nameserver %s\n", cfg->dns[i]);
	write_etc("/etc/resolv.conf", buf);
}
