"""RabbitMQ for tests: a throwaway node of Debian's rabbitmq-server (its own node name, AMQP
and distribution ports below 32768, mnesia and logs in a temp dir, no plugins), started as the
rabbitmq user and waited for with `rabbitmqctl wait` (about 10 s: start one per test module).
Queues are read back with rabbitmqctl: an independent count of what arrived."""
import os
import shutil
import subprocess
import tempfile

from helpers import free_port, wait_for_port


class RabbitMQ:
    def __init__(self):
        self.port = free_port()
        dist = free_port()
        self.name = f"spiker{self.port}@localhost"
        self.dir = tempfile.mkdtemp(prefix="spiker-rabbitmq-")
        os.chmod(self.dir, 0o777)
        plugins = os.path.join(self.dir, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        self.pid_file = os.path.join(self.dir, "rabbit.pid")
        self.env = dict(os.environ, RABBITMQ_NODENAME=self.name,
                        RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                        RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(dist),
                        RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                        RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                        RABBITMQ_ENABLED_PLUGINS_FILE=plugins,
                        RABBITMQ_PID_FILE=self.pid_file,
                        RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq"))
        subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", self.dir], check=True)
        self.proc = subprocess.Popen(["runuser", "-u", "rabbitmq", "--", "/usr/sbin/rabbitmq-server"],
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.ctl("wait", self.pid_file, "--timeout", "60")
        wait_for_port(self.port)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}"

    def ctl(self, *args, check=True):
        p = subprocess.run(["runuser", "-u", "rabbitmq", "--", "/usr/sbin/rabbitmqctl", "-n",
                            self.name, *args], env=self.env, capture_output=True, text=True,
                           timeout=90)
        if check and p.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {p.stdout}{p.stderr}")
        return p.stdout

    def queues(self):
        """Queue name -> messages ready in it."""
        out = {}
        for line in self.ctl("list_queues", "-q", "--no-table-headers", "name",
                             "messages").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
        return out

    def stop(self):
        self.ctl("stop", check=False)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    import time
    t = time.time()
    r = RabbitMQ()
    print("up in", round(time.time() - t, 1), "s at", r.url, r.queues())
    r.stop()
