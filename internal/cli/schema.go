package cli

import (
	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
)

func newSchemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the x-vllmctl block (for editors)",
		Long: `Print the JSON Schema that 'vllmctl check' validates x-vllmctl blocks against.
Save it and point your editor's YAML extension at it, for example in VS Code:

  vllmctl schema > .vscode/x-vllmctl.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := e.stdout.Write(project.ExtSchema)
			return err
		},
	}
}
