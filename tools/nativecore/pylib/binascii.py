# binascii.hexlify for a port without the C binascii module


def hexlify(data):
    return "".join("%02x" % b for b in data).encode()
