"""Rebuild a directory as a power cut would leave it, from the shadow that
tests/powercut/powercut.c kept (see its header comment): each directory
holds the names of its last synced listing, each file the content of its
inode's last sync (empty if it never had one); nothing else survives."""
import os
import shutil


def rebuild(shadow, dest):
    """Create `dest` (must not exist) from `shadow`.  Returns the number of
    files and directories written."""
    with open(os.path.join(shadow, "root")) as f:
        root_ino = f.read().strip()
    os.makedirs(dest)
    count = [0, 0]

    def fill(ino, path):
        listing = os.path.join(shadow, "dir", ino)
        if not os.path.exists(listing):
            return      # a directory whose own listing was never synced
        with open(listing) as f:
            for line in f:
                kind, child, name = line.rstrip("\n").split(" ", 2)
                p = os.path.join(path, name)
                if kind == "d":
                    os.mkdir(p)
                    count[1] += 1
                    fill(child, p)
                else:
                    src = os.path.join(shadow, "ino", child)
                    if os.path.exists(src):
                        shutil.copyfile(src, p)
                    else:
                        open(p, "wb").close()
                    count[0] += 1

    fill(root_ino, dest)
    return count[0], count[1]
