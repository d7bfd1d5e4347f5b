"""Sphinx configuration of fastode's documentation site (``make docs``).

Why Sphinx (numpydoc + sphinx-gallery + MyST) and not MkDocs: fastode's docstrings are numpy-style
with reST markup (``literal``, :func:`roles`), which numpydoc renders as numpy's and scipy's own
references do, so a scipy user finds the same page layout; sphinx-gallery runs each tutorial
script at build time and puts its printed output and matplotlib figures under its code, and
offers each tutorial as a plain ``.py`` file and a notebook; MyST reads the existing Markdown
pages (benchmarks, architecture, design) unchanged. No intersphinx: CI reaches no documentation
server, and an unreachable inventory would be a warning (the build treats warnings as errors).
"""
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # document this checkout, not whatever fastode is installed

import fastode  # noqa: E402

project = "fastode"
author = "the fastode authors"
copyright = "fastode authors, MIT license"
version = release = fastode.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "tutorials/README.rst", "figures/README.rst", "**.ipynb_checkpoints",
                    "**/*.py.md5",
                    "**/*.codeobj.json", "**/*.zip"]

# the API pages: one generated page per public name (docs/api/generated, not in git)
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False   # attributes are listed in each class's docstring
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3              # the Markdown pages link to each other's sections

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials", "figures"],
    "gallery_dirs": ["auto_tutorials", "auto_figures"],
    "filename_pattern": r"/plot_",    # every tutorial is executed
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
    "capture_repr": ("_repr_html_",),
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
}

html_theme = "pydata_sphinx_theme"
html_title = f"fastode {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []

# matplotlib draws into files only
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")
# a tutorial whose function falls back to Python (or whose Neural ODE leaves the compiled path)
# would still run, slowly, and teach the wrong thing: make it an error that fails the build
import fastode.torch_bridge  # noqa: E402

warnings.filterwarnings("error", category=fastode.FallbackWarning)
warnings.filterwarnings("error", category=fastode.torch_bridge.FallbackWarning)
