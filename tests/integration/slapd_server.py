"""A throwaway OpenLDAP server: slapd.conf (mdb) with a seeded LDIF in a temporary folder,
slapd on a free loopback port below 32768 with its statistics log (-d 256: one line per
operation) on a file. Stopped by PID."""
import os
import shutil
import subprocess
import tempfile
import time

from helpers import free_port, wait_for_port

SEED = """dn: dc=test
objectClass: dcObject
objectClass: organization
dc: test
o: test

dn: ou=people,dc=test
objectClass: organizationalUnit
ou: people
"""


class SlapdServer:
    ADMIN = "cn=admin,dc=test"
    PASSWORD = "s3cret-ldap"

    def __init__(self, users=100):
        self.dir = tempfile.mkdtemp(prefix="spiker-ldap-")
        os.mkdir(os.path.join(self.dir, "db"))
        self.port = free_port()
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as f:
            f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {self.dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "dc=test"
rootdn "{self.ADMIN}"
rootpw {self.PASSWORD}
directory {self.dir}/db
""")
        seed = SEED + "".join(
            f"\ndn: uid=user{i},ou=people,dc=test\nobjectClass: inetOrgPerson\nuid: user{i}\n"
            f"cn: User {i}\nsn: Number{i}\nmail: user{i}@test\n" for i in range(1, users + 1))
        ldif = os.path.join(self.dir, "seed.ldif")
        with open(ldif, "w") as f:
            f.write(seed)
        subprocess.run(["/usr/sbin/slapadd", "-f", conf, "-l", ldif], check=True,
                       capture_output=True)
        self.log = os.path.join(self.dir, "stats.log")
        self.proc = subprocess.Popen(["/usr/sbin/slapd", "-f", conf, "-h",
                                      f"ldap://127.0.0.1:{self.port}/", "-d", "256"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"))
        wait_for_port(self.port)
        self.url = f"ldap://127.0.0.1:{self.port}"

    def operations(self, kind):
        """Operations of `kind` (SRCH, BIND, ADD, MOD, DEL) in the statistics log so far."""
        time.sleep(0.2)
        with open(self.log) as f:
            return sum(1 for line in f
                       if f" {kind} dn=" in line or f" {kind} base=" in line)

    def search(self, base, flt):
        p = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-b", base, flt, "dn"],
                           capture_output=True, text=True)
        return [line for line in p.stdout.splitlines() if line.startswith("dn:")]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
