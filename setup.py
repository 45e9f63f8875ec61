"""Build the optional C scanner; qingdan works without it (pure-Python twin), only slower."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler: keep going with the pure-Python scanner
            print(f"warning: C scanner not built ({exc}); using the pure-Python scanner")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: {ext.name} not built ({exc}); using the pure-Python scanner")


setup(
    ext_modules=[
        Extension(
            "qingdan.apk._dexscan",
            ["src/qingdan/apk/_dexscan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
