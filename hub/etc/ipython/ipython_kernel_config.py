# Every IPython kernel of this environment (participants', dashboards', checks'): installed by the
# government-backstage package into {sys.prefix}/etc/ipython, read before the kernel opens its sockets.
# A zmq wake-up that is missed must not leave a request unread: see backstage/zmq_wakeups.py.
try:
    from backstage import zmq_wakeups
except ImportError:  # the lab's package is not installed in this environment
    pass
else:
    zmq_wakeups.install()
