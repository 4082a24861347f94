"""Community: discussions and pull requests on every repository, comments, reactions, reports,
moderation with an audit log, notifications. Knows nothing of HTTP; uses models_registry for
repositories, permissions and commits. `service.Community` is the one entry object; README.md says
which module holds which rule."""
